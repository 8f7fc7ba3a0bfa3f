"""Shapes, output ranges and gradients of the MLP nets, with and without PacGAN packing."""
import pytest
import torch
from torch import nn

from genarena.config import ModelConfig
from genarena.errors import UserError
from genarena.nets import build_gan
from genarena.nets.layers import pack
from genarena.nets.mlp import MLPDiscriminator, MLPGenerator


def test_toy_generator_and_discriminator_shapes():
    g = MLPGenerator(2, [400] * 4, (2,))
    d = MLPDiscriminator((2,), [200] * 3)
    x = g(torch.randn(16, 2))
    assert x.shape == (16, 2)
    assert d(x).shape == (16, 1)


def test_lipizzaner_perceptron_shapes_and_tanh_range():
    g = MLPGenerator(64, [256, 256], (1, 28, 28), act="leaky_relu", out_act="tanh")
    d = MLPDiscriminator((1, 28, 28), [256, 256], act="leaky_relu")
    x = g(torch.randn(5, 64))
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1
    assert d(x).shape == (5, 1)
    assert sum(p.numel() for p in g.parameters()) == 64 * 256 + 256 + 256 * 256 + 256 + 256 * 784 + 784


def test_packed_discriminator_judges_groups():
    d = MLPDiscriminator((2,), [32], pack=4)
    assert d(torch.randn(16, 2)).shape == (4, 1)
    assert d.net[0].in_features == 8


def test_pack_keeps_consecutive_samples_together():
    x = torch.arange(12.0).reshape(6, 2)
    assert pack(x, 3).tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    img = torch.randn(4, 1, 3, 3)
    packed = pack(img, 2)
    assert packed.shape == (2, 2, 3, 3) and torch.equal(packed[1, 0], img[2, 0])
    with pytest.raises(ValueError):
        pack(torch.randn(5, 2), 2)


def test_gradients_are_the_numerical_ones_and_reach_every_parameter():
    g, d = build_gan(ModelConfig(z_dim=3, g_hidden=[16, 16], d_hidden=[16], pack=2), (2,))
    g, d = g.double(), d.double()
    z = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: d(g(x)), (z,))   # through packing, D(G(z))
    d(g(z)).sum().backward()
    for net in (g, d):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_auto_output_activation_follows_data_range():
    g_img, _ = build_gan(ModelConfig(), (4,), value_range=(-1.0, 1.0))
    g_toy, _ = build_gan(ModelConfig(), (4,), value_range=None)
    assert isinstance(g_img.net[-1], torch.nn.Tanh)
    assert isinstance(g_toy.net[-1], torch.nn.Identity)


def test_maxout_takes_the_largest_of_each_units_pieces():
    from genarena.nets.layers import Maxout
    x = torch.tensor([[1.0, 5.0, 2.0, -1.0, -3.0, -2.0]])          # 2 units of 3 pieces
    assert torch.equal(Maxout(3)(x), torch.tensor([[5.0, -1.0]]))
    # the gradient reaches the chosen piece of each unit only, as amax's would without ties
    x = torch.tensor([[1.0, 5.0, 2.0, -3.0, -1.0, -2.0]], requires_grad=True)
    (grad,) = torch.autograd.grad(Maxout(3)(x), x, torch.tensor([[2.0, 3.0]]))
    assert torch.equal(grad, torch.tensor([[0.0, 2.0, 0.0, 0.0, 3.0, 0.0]]))


def test_the_pacgan_toy_d_has_maxout_units_and_normal_weights():
    from genarena.config import load_config
    from genarena.nets import build_gan
    from genarena.nets.layers import Maxout
    cfg = load_config("ring8-paper-pacgan2").model
    torch.manual_seed(0)
    g, d = build_gan(cfg, (2,), None)
    linears = [m for m in d.net if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [1000, 1000, 1000, 1]   # 200 units × 5 pieces
    assert linears[0].in_features == 4 and sum(isinstance(m, Maxout) for m in d.net) == 3
    assert d(torch.randn(6, 2)).shape == (3, 1)
    weights = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.Linear)])
    assert abs(weights.std().item() - 0.02) < 0.002
    # the hidden Linears have no bias (BatchNorm follows them); the output Linear's bias is 0
    assert [m.bias is None for m in g.modules() if isinstance(m, nn.Linear)] == [True] * 4 + [False]
    assert all(m.bias.abs().sum() == 0 for m in g.modules()
               if isinstance(m, nn.Linear) and m.bias is not None)


def test_maxout_is_refused_outside_the_mlp_d():
    from genarena.config import load_config
    from genarena.nets import build_gan
    cfg = load_config("mnist5k-nsgan", {"model.d_maxout": 5}).model
    with pytest.raises(UserError, match="model.d_maxout"):
        build_gan(cfg, (1, 28, 28), (-1.0, 1.0))


def test_a_batch_normalised_g_has_bias_free_linears_then_batchnorm():
    g, _ = build_gan(ModelConfig(z_dim=2, g_hidden=[400] * 4, d_hidden=[8], g_norm="batch"), (2,))
    hidden = list(g.net)[:-2]                                  # the output Linear and activation
    assert [type(m).__name__ for m in hidden[:3]] == ["Linear", "BatchNorm1d", "ReLU"]
    assert len([m for m in hidden if isinstance(m, nn.BatchNorm1d)]) == 4
    assert all(m.bias is None for m in hidden if isinstance(m, nn.Linear))
    with pytest.raises(UserError, match="model.g_norm"):
        build_gan(ModelConfig(arch="dcgan", g_norm="batch"), (1, 28, 28))
