"""Every loss of docs/adversarial.md and Lipizzaner's of docs/coevolution.md against hand-computed
values and gradients."""
import math

import pytest
import torch

from genarena.errors import UserError
from genarena.losses import LOSSES, get_loss

REAL = torch.tensor([1.0, -2.0])
FAKE = torch.tensor([0.5, -1.0])


def sp(x: float) -> float:
    return math.log1p(math.exp(x))


def mean(vals):
    return sum(vals) / len(vals)


EXPECTED_D = {
    "bce": mean([sp(-1.0), sp(2.0)]) + mean([sp(0.5), sp(-1.0)]),
    "nsgan": mean([sp(-1.0), sp(2.0)]) + mean([sp(0.5), sp(-1.0)]),
    "lsgan": mean([0.5 * 0.0, 0.5 * 9.0]) + mean([0.5 * 0.25, 0.5 * 1.0]),
    "wgan": mean([0.5, -1.0]) - mean([1.0, -2.0]),
    "wgan-gp": mean([0.5, -1.0]) - mean([1.0, -2.0]),
    "hinge": mean([0.0, 3.0]) + mean([1.5, 0.0]),
    # Lipizzaner: on p = σ(logit); BCE for D in lip-bce and lip-heu, least squares in lip-mse
    "lip-bce": mean([sp(-1.0), sp(2.0)]) + mean([sp(0.5), sp(-1.0)]),
    "lip-heu": mean([sp(-1.0), sp(2.0)]) + mean([sp(0.5), sp(-1.0)]),
    "lip-mse": mean([(1 / (1 + math.exp(-1.0)) - 1) ** 2, (1 / (1 + math.exp(2.0)) - 1) ** 2])
    + mean([(1 / (1 + math.exp(-0.5))) ** 2, (1 / (1 + math.exp(1.0))) ** 2]),
}
EXPECTED_G = {
    "bce": -mean([sp(0.5), sp(-1.0)]),
    "nsgan": mean([sp(-0.5), sp(1.0)]),
    "lsgan": mean([0.5 * 0.25, 0.5 * 4.0]),
    "wgan": -mean([0.5, -1.0]),
    "wgan-gp": -mean([0.5, -1.0]),
    "hinge": -mean([0.5, -1.0]),
    "lip-bce": mean([-math.log(1 / (1 + math.exp(-0.5))), -math.log(1 / (1 + math.exp(1.0)))]),
    "lip-heu": 0.5 * mean([-math.log(1 / (1 + math.exp(-0.5))), -math.log(1 / (1 + math.exp(1.0)))]),
    "lip-mse": mean([(1 / (1 + math.exp(-0.5)) - 1) ** 2, (1 / (1 + math.exp(1.0)) - 1) ** 2]),
}


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# d(G loss)/d(fake logit) per sample, batch of 2.
EXPECTED_G_GRAD = {
    "bce": [-sigmoid(0.5) / 2, -sigmoid(-1.0) / 2],
    "nsgan": [-sigmoid(-0.5) / 2, -sigmoid(1.0) / 2],
    "lsgan": [(0.5 - 1) / 2, (-1.0 - 1) / 2],
    "wgan": [-0.5, -0.5],
    "wgan-gp": [-0.5, -0.5],
    "hinge": [-0.5, -0.5],
    "lip-bce": [-sigmoid(-0.5) / 2, -sigmoid(1.0) / 2],
    "lip-heu": [-sigmoid(-0.5) / 4, -sigmoid(1.0) / 4],
    # d/dx (σ(x) − 1)² = 2 (σ(x) − 1) σ(x) (1 − σ(x))
    "lip-mse": [2 * (sigmoid(x) - 1) * sigmoid(x) * (1 - sigmoid(x)) / 2 for x in (0.5, -1.0)],
}


def test_registry_holds_the_six_losses_and_lipizzaners_three():
    assert set(LOSSES) == {"bce", "nsgan", "lsgan", "wgan", "wgan-gp", "hinge", "lip-bce",
                           "lip-mse", "lip-heu"}


def test_lip_mse_saturates_where_lsgan_on_logits_does_not():
    """A fake D rates surely fake (logit −8): least squares on σ(D) has almost no gradient there
    (why the paper finds Lip-MSE worst); least squares on the logit pushes hard."""
    fake = torch.tensor([-8.0], requires_grad=True)
    get_loss("lip-mse").g_loss(fake).backward()
    assert abs(fake.grad.item()) < 1e-3
    fake.grad = None
    get_loss("lsgan").g_loss(fake).backward()
    assert abs(fake.grad.item()) > 1


def test_lip_losses_are_monotone_in_ds_rating_of_the_fakes():
    """G's Lipizzaner losses always fall as D rates the fakes more real (the logit least-squares
    G loss does not: it pulls a fake rated +3 back towards 1)."""
    logits = torch.linspace(-6, 6, 49)
    for name in ("lip-bce", "lip-mse", "lip-heu"):
        values = torch.stack([get_loss(name).g_loss(x.view(1)) for x in logits])
        assert (values[1:] < values[:-1]).all(), name
    assert get_loss("lsgan").g_loss(torch.tensor([3.0])) > get_loss("lsgan").g_loss(torch.tensor([1.0]))


@pytest.mark.parametrize("name", sorted(EXPECTED_D))
def test_d_loss_value(name):
    assert get_loss(name).d_loss(REAL, FAKE).item() == pytest.approx(EXPECTED_D[name], rel=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED_G))
def test_g_loss_value(name):
    assert get_loss(name).g_loss(FAKE).item() == pytest.approx(EXPECTED_G[name], rel=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED_G_GRAD))
def test_g_loss_gradient(name):
    fake = FAKE.clone().requires_grad_(True)
    get_loss(name).g_loss(fake).backward()
    assert fake.grad.tolist() == pytest.approx(EXPECTED_G_GRAD[name], rel=1e-6)


def test_d_loss_gradients_bce_and_hinge():
    real, fake = REAL.clone().requires_grad_(True), FAKE.clone().requires_grad_(True)
    get_loss("bce").d_loss(real, fake).backward()
    assert real.grad.tolist() == pytest.approx([-sigmoid(-1.0) / 2, -sigmoid(2.0) / 2])
    assert fake.grad.tolist() == pytest.approx([sigmoid(0.5) / 2, sigmoid(-1.0) / 2])
    real, fake = REAL.clone().requires_grad_(True), FAKE.clone().requires_grad_(True)
    get_loss("hinge").d_loss(real, fake).backward()
    # relu(1-r) is flat for r=1 (at the kink torch takes 0) and active for r=-2.
    assert real.grad.tolist() == pytest.approx([0.0, -0.5])
    assert fake.grad.tolist() == pytest.approx([0.5, 0.0])


def test_saturating_g_loss_vanishes_where_nonsaturating_does_not():
    very_fake = torch.tensor([-15.0], requires_grad=True)
    get_loss("bce").g_loss(very_fake).backward()
    saturating = very_fake.grad.abs().item()
    very_fake.grad = None
    get_loss("nsgan").g_loss(very_fake).backward()
    assert saturating < 1e-6 < very_fake.grad.abs().item()


def test_default_regularizers():
    assert get_loss("wgan").default_clip == 0.01
    assert get_loss("wgan-gp").default_gp_weight == 10.0
    assert get_loss("nsgan").default_clip == 0 and get_loss("nsgan").default_gp_weight == 0


def test_unknown_loss_names_the_choices():
    with pytest.raises(UserError, match="unknown loss 'foo'.*nsgan"):
        get_loss("foo")
