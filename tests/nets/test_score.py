"""Score nets and noise-conditional classifiers: shapes and gradients at 2-D, 8, 28 and 32 px."""
import pytest
import torch

from genarena.nets.classifier import NoisyClassifierConv, NoisyClassifierMLP
from genarena.nets.embeddings import GaussianFourierEmbedding
from genarena.nets.score import ScoreMLP, UNet, unet_levels


def test_fourier_embedding_is_fixed_and_bounded():
    a, b = GaussianFourierEmbedding(16), GaussianFourierEmbedding(16)
    t = torch.rand(5)
    assert torch.equal(a(t), b(t)) and a(t).shape == (5, 16) and a(t).abs().max() <= 1


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_unet_and_conv_classifier(shape):
    x, t = torch.randn(3, *shape), torch.rand(3)
    unet, clf = UNet(shape, width=8), NoisyClassifierConv(shape, 10, width=8)
    out = unet(x, t)
    assert out.shape == x.shape and clf(x, t).shape == (3, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in unet.parameters())


def test_mlp_score_and_classifier_depend_on_time():
    net, clf = ScoreMLP((2,), [32, 32]), NoisyClassifierMLP((2,), [16], 2)
    x = torch.randn(4, 2)
    assert net(x, torch.zeros(4)).shape == (4, 2)
    assert not torch.allclose(net(x, torch.zeros(4)), net(x, torch.ones(4)))
    assert not torch.allclose(clf(x, torch.zeros(4)), clf(x, torch.ones(4)))


def test_unet_levels():
    assert unet_levels(28) == 2 and unet_levels(8) == 1 and unet_levels(32) == 3
