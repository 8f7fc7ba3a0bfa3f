"""DCGAN nets adapt to 8×8, 28×28 and 32×32 images with 1 or 3 channels."""
import pytest
import torch

from genarena.config import ModelConfig
from genarena.errors import UserError
from genarena.nets import build_gan
from genarena.nets.dcgan import DCGANDiscriminator, DCGANGenerator, base_size


@pytest.mark.parametrize("res,expected", [(8, (4, 1)), (28, (7, 2)), (32, (4, 3)), (64, (4, 4))])
def test_base_size(res, expected):
    assert base_size(res) == expected


@pytest.mark.parametrize("res", [8, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_ranges_and_gradients(res, channels):
    g = DCGANGenerator(16, (channels, res, res), width=8)
    d = DCGANDiscriminator((channels, res, res), width=8)
    x = g(torch.randn(4, 16))
    assert x.shape == (4, channels, res, res) and x.abs().max() <= 1
    out = d(x)
    assert out.shape == (4, 1)
    out.sum().backward()
    assert all(p.grad is not None for p in g.parameters())
    assert all(p.grad is not None for p in d.parameters())


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_d_norms_and_packing(norm):
    d = DCGANDiscriminator((1, 28, 28), width=8, norm=norm, pack=2)
    assert d(torch.randn(6, 1, 28, 28)).shape == (3, 1)
    feats = d.features(torch.randn(6, 1, 28, 28))
    assert [f.shape[1:] for f in feats] == [(8, 14, 14), (16, 7, 7)]


def test_build_gan_checks_the_data_shape():
    with pytest.raises(UserError, match="dcgan needs C×H×W"):
        build_gan(ModelConfig(arch="dcgan"), (2,))
    with pytest.raises(UserError, match="cannot build"):
        build_gan(ModelConfig(arch="dcgan"), (1, 7, 7))
