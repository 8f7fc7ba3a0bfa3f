"""Where the cells of a generation run: in this process, or in Ray actors.

A backend maps (states of every cell before a generation, generation) to the states after it,
plus how many bytes of state it moved. Generations are synchronous: all cells read the states
before the generation, so the result cannot depend on the order or place cells run.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Mapping, Protocol

from genarena.coevolution.cell import CellContext, CellState
from genarena.config import Config


class Backend(Protocol):
    def generation(self, states: dict[int, CellState], generation: int
                   ) -> tuple[dict[int, CellState], int]: ...
    def close(self) -> None: ...


def _sequential(cfg: Config, ctx: CellContext) -> Backend:
    from genarena.coevolution.backends.sequential import SequentialBackend
    return SequentialBackend(ctx)


def _ray(cfg: Config, ctx: CellContext) -> Backend:
    from genarena.coevolution.backends.ray import RayBackend      # Ray only when asked for
    return RayBackend(cfg, ctx)


# backend.name -> (config, cell context) -> backend
BACKENDS: Mapping[str, Callable[[Config, CellContext], Backend]] = MappingProxyType({
    "sequential": _sequential, "ray": _ray})


def build_backend(cfg: Config, ctx: CellContext) -> Backend:
    """The backend the config names."""
    return BACKENDS[cfg.backend.name](cfg, ctx)


__all__ = ["BACKENDS", "Backend", "build_backend"]
