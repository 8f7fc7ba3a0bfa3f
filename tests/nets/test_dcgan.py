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


def test_dcgan_tensorflows_nets_halve_by_ceiling_with_5x5_kernels():
    """model.arch=dcgan-tf: DCGAN-tensorflow's stages (28 -> 14 -> 7 -> 4 -> 2, TensorFlow's 'SAME'
    stride 2), G's channels 8w→4w→2w→w→C with BatchNorm on all but the output, D's w→8w with
    BatchNorm on all but the first, 5×5 kernels with biases as the reference's conv2d/deconv2d."""
    from genarena.nets.dcgan import TFDCGANDiscriminator, TFDCGANGenerator, tf_stage_sizes
    assert tf_stage_sizes(28) == [28, 14, 7, 4, 2] and tf_stage_sizes(32) == [32, 16, 8, 4, 2]
    g, d = build_gan(ModelConfig(arch="dcgan-tf", z_dim=100, width=8), (3, 28, 28), (-1.0, 1.0))
    assert isinstance(g, TFDCGANGenerator) and isinstance(d, TFDCGANDiscriminator)
    assert g.base == (64, 2, 2)
    shapes, h = [], g.project(torch.rand(5, 100) * 2 - 1)
    for layer in g.upsample:
        h = layer(h)
        if isinstance(layer, torch.nn.ConvTranspose2d):
            assert layer.kernel_size == (5, 5) and layer.bias is not None
            shapes.append(tuple(h.shape[1:]))
    assert shapes == [(32, 4, 4), (16, 7, 7), (8, 14, 14), (3, 28, 28)]
    assert h.abs().max() <= 1
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in g.modules()) == 4
    feats = d.features(h)
    assert [tuple(f.shape[1:]) for f in feats] == [(8, 14, 14), (16, 7, 7), (32, 4, 4), (64, 2, 2)]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules()) == 3
    out = d(h)
    out.sum().backward()
    assert out.shape == (5, 1) and all(p.grad is not None for p in g.parameters())
    packed = TFDCGANDiscriminator((3, 28, 28), width=8, pack=2)
    assert packed(torch.randn(6, 3, 28, 28)).shape == (3, 1)
