"""All cells in this process, one after another: deterministic, and on 2 cores as fast as any."""
from __future__ import annotations

from genarena.coevolution.cell import CellContext, CellState, evolve_cell


class SequentialBackend:
    """Runs every cell's generation in turn from the same before-states (no bytes move)."""

    def __init__(self, ctx: CellContext) -> None:
        self.ctx = ctx

    def generation(self, states: dict[int, CellState], generation: int
                   ) -> tuple[dict[int, CellState], int]:
        return {c: evolve_cell(self.ctx, c, generation, states) for c in sorted(states)}, 0

    def close(self) -> None:
        pass
