"""The one walk over checkpointable plain data (states of cells, optimizers)."""
import torch

from genarena.checkpoint import leaves, map_leaves


def test_map_leaves_keeps_the_structure_and_maps_every_leaf():
    state = {"a": [torch.ones(2), 3], "b": {"c": (torch.zeros(1), "x")}}
    out = map_leaves(state, lambda v: v * 2 if isinstance(v, (torch.Tensor, int)) else v)
    assert torch.equal(out["a"][0], torch.full((2,), 2.0)) and out["a"][1] == 6
    assert isinstance(out["b"]["c"], tuple) and out["b"]["c"][1] == "x"
    assert torch.equal(state["a"][0], torch.ones(2))          # the input is left as it was


def test_leaves_yields_every_leaf_in_order():
    assert list(leaves({"a": [1, (2, 3)], "b": {"c": 4}})) == [1, 2, 3, 4]
