"""Where work runs: this machine's cores, and Ray for the coevolution backend and the sweep
scheduler (a local Ray that stays on 127.0.0.1, or a cluster started with `ray start --head`,
joined by auto or HOST:PORT)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

from genarena.errors import UserError

LOOPBACK = "127.0.0.1"


def cores() -> int:
    """The cores this process may use: the default number of parallel workers."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def import_ray(what: str = "config key 'backend.name'") -> Any:
    """The ray module, or a user error (about `what` asked for Ray) saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(f"{what}: ray is not installed "
                        "(expected `pip install 'genarena[ray]'`)") from None
    return ray


@contextmanager
def _child_environment(values: dict[str, str]) -> Iterator[None]:
    """`values` in os.environ only while Ray starts its processes (they inherit the environment
    at spawn), then the caller's environment exactly as it was."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def start_ray(address: str, num_cpus: int | None = None,
              what: str = "config key 'backend.address'") -> bool:
    """Connect to Ray; returns True when this call started it (and so should shut it down).

    For a local Ray, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (with which Ray keeps every server on the
    loopback address) and RAY_USAGE_STATS_ENABLED=0 are in the environment only while Ray is first
    imported (it reads the switch then) and while ray.init starts its processes (GCS, raylet,
    workers inherit them); this process's environment is restored after, and Ray's module state
    is never patched. If the caller imported Ray before, with the switch on, the local Ray cannot
    stay on loopback: that is detected below and refused with the way out.
    """
    child_env = {"RAY_USAGE_STATS_ENABLED": "0"}
    if not address:
        child_env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    with _child_environment(child_env):
        ray = import_ray(what)
    if ray.is_initialized():
        return False
    try:
        with _child_environment(child_env):
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                         log_to_driver=False, _node_ip_address=LOOPBACK)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise UserError(f"{what}: cannot join Ray at "
                        f"'{address or 'local'}' ({exc})") from None
    if not address:
        nodes = [n["NodeManagerAddress"] for n in ray.nodes()]
        if any(a != LOOPBACK for a in nodes):
            ray.shutdown()
            raise UserError(f"{what}: the local Ray did not stay on "
                            f"{LOOPBACK} (nodes at {', '.join(nodes)}); start one with "
                            f"`ray start --head --node-ip-address {LOOPBACK}` and pass its address")
    return True
