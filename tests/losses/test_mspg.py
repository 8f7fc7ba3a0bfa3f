"""MSPG-SEN losses and the diversity head: known values and the D_aux separation test."""
import math

import torch

from genarena.losses import feature_matching, info_nce
from genarena.nets.mspg import AuxDiversityDiscriminator


def test_feature_matching_is_zero_for_equal_means_and_l1_otherwise():
    a = [torch.randn(8, 4), torch.randn(8, 2, 3, 3)]
    assert float(feature_matching(a, [t.flip(0) for t in a])) < 1e-6     # same batch means
    shifted = [t + 0.5 for t in a]
    assert abs(float(feature_matching(a, shifted)) - 0.5) < 1e-6


def test_feature_matching_gradient_reaches_fakes_only():
    # batch means: real (1, 1), fake (1, 2); L = mean(|0|, |−1|) = 0.5, and ∂L/∂fake[i, j] =
    # −sign(real mean − fake mean)_j / (2 features · 2 samples): 0 for j = 0, +¼ for j = 1
    real = torch.tensor([[0.0, 0.0], [2.0, 2.0]], requires_grad=True)
    fake = torch.tensor([[1.0, 3.0], [1.0, 1.0]], requires_grad=True)
    loss = feature_matching([real], [fake])
    loss.backward()
    assert loss.item() == 0.5 and real.grad is None
    assert torch.equal(fake.grad, torch.tensor([[0.0, 0.25], [0.0, 0.25]]))


def test_info_nce_is_small_for_matching_pairs_and_log_b_for_uninformative_ones():
    x = torch.eye(8) * 5
    assert float(info_nce(x, x, tau=0.1)) < 1e-3
    same = torch.ones(8, 3)
    assert abs(float(info_nce(same, same)) - math.log(8)) < 1e-5


def _train(aux, real, fake, steps=60):
    opt = torch.optim.Adam(aux.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = torch.nn.functional.softplus(-aux(real)).mean() + \
            torch.nn.functional.softplus(aux(fake)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(((aux(real) > 0).float().mean() + (aux(fake) < 0).float().mean()) / 2)


def test_d_aux_separates_collapsed_packs_from_real_ones():
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(1)
    real = torch.randn(256, 16, generator=rng)
    # collapsed fakes: every pack of 4 repeats one feature vector (same marginal distribution)
    fake = torch.randn(64, 16, generator=rng).repeat_interleave(4, 0)
    assert _train(AuxDiversityDiscriminator(16, 4), real, fake) > 0.95


def test_d_aux_cannot_separate_real_from_real():
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(2)
    real_a, real_b = torch.randn(256, 16, generator=rng), torch.randn(256, 16, generator=rng)
    test_a, test_b = torch.randn(256, 16, generator=rng), torch.randn(256, 16, generator=rng)
    aux = AuxDiversityDiscriminator(16, 4)
    _train(aux, real_a, real_b)
    with torch.no_grad():
        acc = float(((aux(test_a) > 0).float().mean() + (aux(test_b) < 0).float().mean()) / 2)
    assert acc < 0.65
