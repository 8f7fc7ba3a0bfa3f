"""Where the cells of a generation run: in this process, or in Ray actors (SPEC 5.3).

A backend maps (states of every cell before a generation, generation) to the states after it,
plus how many bytes of state it moved. Generations are synchronous: all cells read the states
before the generation, so the result cannot depend on the order or place cells run.
"""
from __future__ import annotations

from typing import Protocol

from genarena.coevolution.cell import CellContext, CellState
from genarena.config import Config


class Backend(Protocol):
    def generation(self, states: dict[int, CellState], generation: int
                   ) -> tuple[dict[int, CellState], int]: ...
    def close(self) -> None: ...


def build_backend(cfg: Config, ctx: CellContext) -> Backend:
    """The backend the config names (Ray is imported only when asked for)."""
    if cfg.backend.name == "ray":
        from genarena.coevolution.backends.ray import RayBackend
        return RayBackend(cfg, ctx.grid)
    from genarena.coevolution.backends.sequential import SequentialBackend
    return SequentialBackend(ctx)


__all__ = ["Backend", "build_backend"]
