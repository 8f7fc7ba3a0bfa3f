"""Score nets and noise-conditional classifiers: shapes and gradients at 2-D, 8, 28 and 32 px."""
import pytest
import torch

from genarena.diffusion.sde import VESDE
from genarena.nets.classifier import NoisyClassifierConv, NoisyClassifierMLP, SigmaBranchClassifier
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


def test_sigma_branch_classifier_has_the_papers_shape_and_reads_sigma():
    sde = VESDE(0.001, 10.0)
    clf = SigmaBranchClassifier((2,), [256, 128, 64], 2, sde.noise_std)
    widths = [m.out_features for m in clf.x_branch if isinstance(m, torch.nn.Linear)]
    narrow = [m.out_features for m in clf.sigma_branch if isinstance(m, torch.nn.Linear)]
    assert widths == [256, 128, 64] and narrow == [64, 32, 16] and clf.out.in_features == 80
    x = torch.randn(5, 2, requires_grad=True)
    logits = clf(x, torch.full((5,), 0.5))
    assert logits.shape == (5, 2)
    assert not torch.allclose(logits, clf(x, torch.full((5,), 0.9)))
    # the input gradient (what guidance uses) flows, and twice (what DLSM's double backprop needs)
    (g,) = torch.autograd.grad(logits[:, 0].sum(), x, create_graph=True)
    g.pow(2).sum().backward()
    assert g.shape == (5, 2)
    assert all(m.weight.grad is not None for m in clf.x_branch if isinstance(m, torch.nn.Linear))
