"""Cells in Ray actors: several cells per actor, synchronous generations, restarts.

Each generation the driver sends every actor the before-states of its cells' neighbourhoods and
waits for all of them (the barrier). A cell's generation is a pure function of those states and
of (seed, cell, generation), so its result equals the sequential backend's.

Fault tolerance: actors restart without limit and their tasks are retried. The before-states of
a generation are the cells' checkpoint (the driver also writes the whole grid to
checkpoints/last.pt every generation), so a restarted actor recomputes exactly the same cells.

A local Ray (no backend.address) is started on 127.0.0.1 only, without dashboard or usage stats;
backend.address=auto|HOST:PORT joins a cluster started with `ray start --head`.
"""
from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch

from genarena.coevolution.cell import CellContext, CellState, evolve_cell
from genarena.coevolution.grid import Grid
from genarena.config import Config, from_dict, to_dict
from genarena.errors import UserError

LOOPBACK = "127.0.0.1"


def state_bytes(obj: Any) -> int:
    """Bytes of tensor data in a (nested) state: what crosses the object store."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(state_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(state_bytes(v) for v in obj)
    return 0


def to_wire(obj: Any) -> Any:
    """Tensors as NumPy views (no copy): Ray stores NumPy arrays out of band and hands them to
    the receiver as views of its shared object store, where tensors would be copied twice."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().numpy()
    if isinstance(obj, dict):
        return {k: to_wire(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_wire(v) for v in obj]
    return obj


def from_wire(obj: Any) -> Any:
    """The inverse of to_wire, again without copies. The arrays are read-only views of the
    object store; a generation only reads its input states (it copies what it trains)."""
    if isinstance(obj, np.ndarray):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The given NumPy array is not writable")
            return torch.from_numpy(obj)
    if isinstance(obj, dict):
        return {k: from_wire(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_wire(v) for v in obj]
    return obj


class CellWorker:
    """The actor body: a CellContext built once, then generations of the cells it is given."""

    def __init__(self, config: dict[str, Any], threads: int) -> None:
        torch.set_num_threads(threads)
        self.ctx = CellContext(from_dict(config))

    def evolve(self, cells: list[int], generation: int, states: dict[int, Any]) -> dict[int, Any]:
        """The cells' states after `generation`, in and out in wire form."""
        import ray
        before = from_wire({c: ray.get(ref) for c, ref in states.items()})
        return to_wire({c: evolve_cell(self.ctx, c, generation, before) for c in cells})

    def info(self) -> dict[str, Any]:
        import ray
        return {"pid": os.getpid(), "node_ip": ray.util.get_node_ip_address()}

    def ping(self) -> bool:
        return True


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UserError("config key 'backend.name': ray is not installed "
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


def start_ray(address: str, num_cpus: int | None = None) -> bool:
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
        ray = _import_ray()
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
        raise UserError(f"config key 'backend.address': cannot join Ray at "
                        f"'{address or 'local'}' ({exc})") from None
    if not address:
        nodes = [n["NodeManagerAddress"] for n in ray.nodes()]
        if any(a != LOOPBACK for a in nodes):
            ray.shutdown()
            raise UserError(f"config key 'backend.address': the local Ray did not stay on "
                            f"{LOOPBACK} (nodes at {', '.join(nodes)}); start one with "
                            f"`ray start --head --node-ip-address {LOOPBACK}` and pass its address")
    return True


class RayBackend:
    """Spreads the grid's cells over `backend.workers` actors (default: one per CPU)."""

    def __init__(self, cfg: Config, grid: Grid) -> None:
        ray = _import_ray()
        self.ray, self.grid = ray, grid
        self.owns_ray = start_ray(cfg.backend.address, cfg.backend.workers or None)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = min(cfg.backend.workers or cpus, grid.size)
        remote = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(CellWorker)
        config = to_dict(cfg)
        self.actors = [remote.remote(config, 1) for _ in range(workers)]
        self.assignment = [list(range(grid.size))[i::workers] for i in range(workers)]

    def generation(self, states: dict[int, CellState], generation: int
                   ) -> tuple[dict[int, CellState], int]:
        # each cell's state enters the object store once, however many actors read it
        put = {c: self.ray.put(to_wire(s)) for c, s in states.items()}
        refs, moved = [], 0
        for actor, cells in zip(self.actors, self.assignment):
            needed = {h for c in cells for h in self.grid.neighbours(c)}
            moved += sum(state_bytes(states[h]) for h in needed)
            refs.append(actor.evolve.remote(cells, generation, {h: put[h] for h in sorted(needed)}))
        out: dict[int, CellState] = {}
        for part in self.ray.get(refs):
            part = from_wire(part)
            moved += state_bytes(part)
            out.update(part)
        return dict(sorted(out.items())), moved

    def actor_info(self) -> list[dict[str, Any]]:
        """pid and node address of each actor (tests kill one; the local node is 127.0.0.1)."""
        return self.ray.get([a.info.remote() for a in self.actors])

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self.owns_ray:
            self.ray.shutdown()
