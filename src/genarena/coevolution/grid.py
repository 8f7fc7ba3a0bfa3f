"""The toroidal grid of cells (docs/coevolution.md): cell ids and neighbourhoods, written once.

Cell (r, c) has id r·cols + c. A neighbourhood lists the cell itself first, then its neighbours
in a fixed order (N, S, W, E, then the diagonals NW, NE, SW, SE for Moore), wrapping around the
edges; on small grids a neighbour can repeat (a 1×k grid is its own north and south), and
repeats are dropped so every cell appears once.
"""
from __future__ import annotations

from dataclasses import dataclass

# coevolution.neighbourhood -> the (row, col) offsets of a cell's neighbours, itself first
NEIGHBOURHOODS = {
    "von-neumann": ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)),
    "moore": ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)),
}


@dataclass(frozen=True)
class Grid:
    """A rows×cols torus with a von Neumann (radius 1) or Moore neighbourhood."""
    rows: int
    cols: int
    neighbourhood: str = "von-neumann"

    def __post_init__(self) -> None:
        if self.rows < 1 or self.cols < 1:
            raise ValueError(f"grid must be at least 1×1, got {self.rows}×{self.cols}")
        if self.neighbourhood not in NEIGHBOURHOODS:
            raise ValueError(f"unknown neighbourhood '{self.neighbourhood}'")

    @property
    def size(self) -> int:
        return self.rows * self.cols

    def position(self, cell: int) -> tuple[int, int]:
        """(row, col) of a cell id."""
        return divmod(cell, self.cols)

    def cell_id(self, row: int, col: int) -> int:
        """The id of (row, col), wrapping around the torus."""
        return (row % self.rows) * self.cols + (col % self.cols)

    def neighbours(self, cell: int) -> list[int]:
        """The cell itself, then its distinct neighbours in N, S, W, E(, diagonal) order."""
        r, c = self.position(cell)
        out: list[int] = []
        for dr, dc in NEIGHBOURHOODS[self.neighbourhood]:
            other = self.cell_id(r + dr, c + dc)
            if other not in out:
                out.append(other)
        return out

    def table(self) -> list[list[int]]:
        """Every cell's neighbourhood, by cell id."""
        return [self.neighbours(i) for i in range(self.size)]
