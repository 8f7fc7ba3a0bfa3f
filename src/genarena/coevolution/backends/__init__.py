"""Where the cells of a generation run: in this process, or in Ray actors.

A backend maps (states of every cell before a generation, generation) to the states after it,
plus how many bytes of state it moved. Generations are synchronous: all cells read the states
before the generation, so the result cannot depend on the order or place cells run.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable, Mapping, Protocol

import torch

from genarena.checkpoint import leaves
from genarena.coevolution.cell import CellContext, CellState
from genarena.config import Config


def state_bytes(obj: Any) -> int:
    """Bytes of tensor data in a (nested) state: what crosses between processes."""
    return sum(v.numel() * v.element_size() for v in leaves(obj) if isinstance(v, torch.Tensor))


class Backend(Protocol):
    def generation(self, states: dict[int, CellState], generation: int
                   ) -> tuple[dict[int, CellState], int]: ...
    def close(self) -> None: ...


def _sequential(cfg: Config, ctx: CellContext) -> Backend:
    from genarena.coevolution.backends.sequential import SequentialBackend
    return SequentialBackend(ctx)


def _processes(cfg: Config, ctx: CellContext) -> Backend:
    from genarena.coevolution.backends.processes import ProcessBackend
    return ProcessBackend(cfg, ctx)


def worker_processes(workers: int, device: str, cells: int, cores: int) -> int:
    """How many worker processes a grid spreads over: backend.workers when set, else one per
    core on the CPU and one per GPU on CUDA (the run's device is one GPU: a process per core
    would each open a CUDA context on it, and a sweep of such runs would run out of memory);
    never more than the cells."""
    default = 1 if device.startswith("cuda") else cores
    return max(1, min(workers or default, cells))


def _auto(cfg: Config, ctx: CellContext) -> Backend:
    """Worker processes when there are several cells and cores to spread them over, else one
    process (results are the same either way)."""
    from genarena.cluster import cores
    spread = worker_processes(cfg.backend.workers, str(ctx.device), ctx.grid.size, cores())
    return (_processes if spread > 1 else _sequential)(cfg, ctx)


def _ray(cfg: Config, ctx: CellContext) -> Backend:
    from genarena.coevolution.backends.ray import RayBackend  # Ray only when asked for
    return RayBackend(cfg, ctx)


# backend.name -> (config, cell context) -> backend
BACKENDS: Mapping[str, Callable[[Config, CellContext], Backend]] = MappingProxyType({
    "auto": _auto, "sequential": _sequential, "processes": _processes, "ray": _ray})


def build_backend(cfg: Config, ctx: CellContext) -> Backend:
    """The backend the config names."""
    return BACKENDS[cfg.backend.name](cfg, ctx)


__all__ = ["BACKENDS", "Backend", "build_backend", "state_bytes", "worker_processes"]
