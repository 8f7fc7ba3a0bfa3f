"""The torus neighbourhoods against tables written by hand (self, N, S, W, E[, NW, NE, SW, SE])."""
import pytest

from genarena.coevolution.grid import Grid

VON_NEUMANN_3x3 = {
    0: [0, 6, 3, 2, 1], 1: [1, 7, 4, 0, 2], 2: [2, 8, 5, 1, 0],
    3: [3, 0, 6, 5, 4], 4: [4, 1, 7, 3, 5], 5: [5, 2, 8, 4, 3],
    6: [6, 3, 0, 8, 7], 7: [7, 4, 1, 6, 8], 8: [8, 5, 2, 7, 6],
}

VON_NEUMANN_4x4 = {
    0: [0, 12, 4, 3, 1], 1: [1, 13, 5, 0, 2], 2: [2, 14, 6, 1, 3], 3: [3, 15, 7, 2, 0],
    4: [4, 0, 8, 7, 5], 5: [5, 1, 9, 4, 6], 6: [6, 2, 10, 5, 7], 7: [7, 3, 11, 6, 4],
    8: [8, 4, 12, 11, 9], 9: [9, 5, 13, 8, 10], 10: [10, 6, 14, 9, 11], 11: [11, 7, 15, 10, 8],
    12: [12, 8, 0, 15, 13], 13: [13, 9, 1, 12, 14], 14: [14, 10, 2, 13, 15],
    15: [15, 11, 3, 14, 12],
}

MOORE_4x4 = {
    0: [0, 12, 4, 3, 1, 15, 13, 7, 5],
    5: [5, 1, 9, 4, 6, 0, 2, 8, 10],
    7: [7, 3, 11, 6, 4, 2, 0, 10, 8],
    14: [14, 10, 2, 13, 15, 9, 11, 1, 3],
}


@pytest.mark.parametrize("rows, cols, table", [(3, 3, VON_NEUMANN_3x3), (4, 4, VON_NEUMANN_4x4)])
def test_von_neumann_tables(rows, cols, table):
    grid = Grid(rows, cols)
    assert grid.table() == [table[i] for i in range(rows * cols)]


def test_moore_4x4_rows():
    grid = Grid(4, 4, "moore")
    for cell, row in MOORE_4x4.items():
        assert grid.neighbours(cell) == row


def test_moore_3x3_is_the_whole_grid_centred_on_the_cell():
    grid = Grid(3, 3, "moore")
    assert grid.neighbours(4) == [4, 1, 7, 3, 5, 0, 2, 6, 8]
    assert all(sorted(grid.neighbours(c)) == list(range(9)) for c in range(9))


def test_off_diagonal_cells_are_not_transposed():
    # The reference implementation swapped rows and columns: on a 2×3 grid that sends cell 1
    # to the wrong places. Here cell (0, 1) has north/south (1, 1) = 4 and west/east 0 and 2.
    assert Grid(2, 3).neighbours(1) == [1, 4, 0, 2]


def test_small_grids_drop_repeated_neighbours():
    assert Grid(1, 1).neighbours(0) == [0]
    assert Grid(2, 2).neighbours(0) == [0, 2, 1]
    assert Grid(1, 3).neighbours(0) == [0, 2, 1]


def test_every_cell_is_its_own_first_neighbour_and_relations_are_symmetric():
    grid = Grid(4, 5)
    for c in range(grid.size):
        hood = grid.neighbours(c)
        assert hood[0] == c and len(set(hood)) == len(hood)
        assert all(c in grid.neighbours(other) for other in hood)


def test_invalid_grids_are_rejected():
    with pytest.raises(ValueError):
        Grid(0, 3)
    with pytest.raises(ValueError):
        Grid(2, 2, "hexagonal")
