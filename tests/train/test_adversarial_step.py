"""The one adversarial step: D accuracy by each loss's rule, the per-pack gradient penalty, the
frozen D restored after a failure, and MSPG-SEN honouring WGAN's clipping and penalty."""
import pytest
import torch
from torch import nn

import genarena
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.losses import LOSSES, get_loss, gradient_penalty, r1_penalty
from genarena.losses.adversarial import AdversarialLoss
from genarena.nets.layers import pack
from genarena.nets.mlp import MLPDiscriminator
from genarena.train.adversarial_step import DiscriminatorRules, discriminator_step, frozen, generator_step
from genarena.train.mspg import MSPGTrainer

# What a perfect D outputs for reals and fakes, by the loss's own targets.
PERFECT = {"bce": (5.0, -5.0), "nsgan": (5.0, -5.0), "lsgan": (1.0, 0.0), "wgan": (1.0, -1.0),
           "wgan-gp": (1.0, -1.0), "hinge": (1.0, -1.0), "lip-bce": (5.0, -5.0),
           "lip-mse": (5.0, -5.0), "lip-heu": (5.0, -5.0)}
# What a D that cannot tell them apart outputs (probability ½, or one constant score).
UNDECIDED = {"bce": 0.0, "nsgan": 0.0, "lsgan": 0.5, "wgan": 0.3, "wgan-gp": 0.3, "hinge": 0.0,
             "lip-bce": 0.0, "lip-mse": 0.0, "lip-heu": 0.0}     # Lipizzaner's: σ(logit) = ½


class FixedD(nn.Module):
    """D(x) = a·x[:, 0] + b: its outputs are set by the batch, yet it has parameters to step."""

    def __init__(self, a: float, b: float) -> None:
        super().__init__()
        self.a, self.b = nn.Parameter(torch.tensor(a)), nn.Parameter(torch.tensor(b))

    def forward(self, x):
        return self.a * x[:, :1] + self.b


def _d_step(name, d, real, fake):
    opt = torch.optim.SGD(d.parameters(), lr=0.0)          # the outputs stay what they were
    rules = DiscriminatorRules(get_loss(name))
    return discriminator_step(rules, opt, d, d, real, fake)


def test_every_loss_has_perfect_and_undecided_cases():
    assert set(PERFECT) == set(UNDECIDED) == set(LOSSES)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_d_accuracy_is_one_for_a_perfect_d(name):
    r, f = PERFECT[name]
    stats = _d_step(name, FixedD(1.0, 0.0), torch.full((64, 2), r), torch.full((64, 2), f))
    assert stats["d_acc_real"] == 1.0 and stats["d_acc_fake"] == 1.0


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_d_accuracy_is_at_most_a_half_for_an_undecided_d(name):
    real, fake = torch.randn(64, 2), torch.randn(64, 2)
    stats = _d_step(name, FixedD(0.0, UNDECIDED[name]), real, fake)
    assert (stats["d_acc_real"] + stats["d_acc_fake"]) / 2 <= 0.5


def test_an_lsgan_run_logs_its_own_accuracy_rule(tmp_path, monkeypatch):
    # LSGAN outputs near 0.5 for reals: the old rule (output > 0) called all of them right.
    real = torch.full((64, 2), 0.4)
    stats = _d_step("lsgan", FixedD(1.0, 0.0), real, torch.zeros(64, 2) - 0.2)
    assert stats["d_acc_real"] == 0.0 and stats["d_acc_fake"] == 1.0
    # and a run's logged accuracy is the mean of its own loss's rule over each log interval
    seen = []
    rule = AdversarialLoss.d_accuracy

    def recorded(self, out_real, out_fake):
        seen.append((self.name, rule(self, out_real, out_fake)))
        return seen[-1][1]
    monkeypatch.setattr(AdversarialLoss, "d_accuracy", recorded)
    run = genarena.train("ring8-lsgan", out=tmp_path / "r", steps=20, model__g_hidden=[16],
                         model__d_hidden=[16], eval__n_samples=64, log__interval=10)
    rows = [r for r in run.dir.read_metrics() if "d_acc_real" in r]
    assert [name for name, _ in seen] == ["lsgan"] * 20 and len(rows) == 2
    for row, interval in zip(rows, (seen[:10], seen[10:])):
        for key in ("d_acc_real", "d_acc_fake"):
            assert row[key] == pytest.approx(sum(acc[key] for _, acc in interval) / 10)


def test_the_gradient_penalty_of_a_pacgan2_critic_is_taken_per_pack():
    torch.manual_seed(0)
    d = MLPDiscriminator((2,), [16], "relu", pack=2)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    code = gradient_penalty(d, real, fake, torch.Generator().manual_seed(5), pack=2)
    # By hand, on what D judges: the packed vectors (4 packs of 2 samples × 2 coordinates).
    pr, pf = pack(real, 2), pack(fake, 2)
    eps = torch.rand(4, 1, generator=torch.Generator().manual_seed(5))
    mixed = (eps * pr + (1 - eps) * pf).requires_grad_(True)
    (grad,) = torch.autograd.grad(d.net(mixed).sum(), mixed)
    by_hand = ((grad.norm(dim=1) - 1) ** 2).mean()
    assert code.item() == pytest.approx(by_hand.item(), rel=1e-6)
    per_sample = gradient_penalty(d, real, fake, torch.Generator().manual_seed(5), pack=1)
    assert abs(per_sample.item() - by_hand.item()) > 1e-3          # what the old code computed


def test_r1_of_a_packed_critic_sums_over_the_pack():
    w = torch.tensor([3.0, 4.0])
    critic = lambda x: pack(x, 2) @ torch.cat([w, w])       # noqa: E731  ∇ per pack: (w, w)
    assert r1_penalty(critic, torch.randn(8, 2), pack=2).item() == pytest.approx(50.0)


def test_frozen_restores_the_flags_when_the_block_raises():
    d = nn.Linear(2, 1)
    d.bias.requires_grad_(False)
    with pytest.raises(RuntimeError):
        with frozen(d):
            assert not any(p.requires_grad for p in d.parameters())
            raise RuntimeError("G's loss failed")
    assert d.weight.requires_grad and not d.bias.requires_grad


def test_generator_step_leaves_d_untouched_and_trainable():
    g, d = nn.Linear(2, 2), nn.Linear(2, 1)
    before = [p.clone() for p in d.parameters()]
    opt = torch.optim.SGD(g.parameters(), lr=0.1)
    generator_step(opt, g, lambda: -d(g(torch.randn(8, 2))).mean(), (d,))
    assert all(torch.equal(a, b) for a, b in zip(before, d.parameters()))
    assert all(p.grad is None for p in d.parameters()) and d.weight.requires_grad


def _mspg(loss, **extra):
    cfg = load_config("ring8-mspg", {"loss.name": loss, "data.batch_size": 64,
                                     "model.g_hidden": [32], "model.d_hidden": [32], **extra})
    return MSPGTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))


def test_mspg_with_wgan_clips_the_critic():
    trainer = _mspg("wgan", **{"optim.lr_d": 0.5})
    for _ in range(3):
        trainer.train_step()
    weights = torch.cat([p.flatten() for p in trainer.d_side.parameters()])
    assert weights.abs().max().item() <= 0.01 + 1e-7


def test_mspg_with_wgan_gp_adds_the_penalty():
    torch.manual_seed(0)
    trainer = _mspg("wgan-gp")
    torch.manual_seed(0)
    plain = _mspg("wgan-gp", **{"loss.gp_weight": 0.0})       # the same nets and batches
    stats, plain_stats = trainer.train_step(), plain.train_step()
    assert stats["gp"] > 0 and "gp" not in plain_stats
    assert stats["loss_d"] == plain_stats["loss_d"]           # the same critic loss before the step
    # the penalty is in D's update: the critics part after one step
    assert any(not torch.equal(a, b) for a, b in zip(trainer.d.parameters(), plain.d.parameters()))
