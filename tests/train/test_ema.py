"""EMA of G: half-life in images, parameters trail the model."""
import pytest
import torch
from torch import nn

from genarena.train.ema import EMA


def test_beta_from_half_life_in_images():
    ema = EMA(nn.Linear(2, 2), half_life_images=1000, batch_size=100)
    assert ema.beta == pytest.approx(0.5 ** 0.1)
    # after half_life/batch updates the old weights keep half their weight
    assert ema.beta ** 10 == pytest.approx(0.5)


def test_update_moves_toward_the_model_and_is_frozen():
    net = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(0.0)
    ema = EMA(net, half_life_images=1, batch_size=1)      # β = 0.5
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update(net)
    assert ema.model.weight.item() == pytest.approx(0.5)
    ema.update(net)
    assert ema.model.weight.item() == pytest.approx(0.75)
    assert not any(p.requires_grad for p in ema.model.parameters())
