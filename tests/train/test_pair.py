"""The pair trainer's phases: D steps, G step, regularizers, knobs, EMA, packing."""
import copy

import pytest
import torch
from helpers import FAST

from genarena.config import load_config
from genarena.data import build_dataset
from genarena.train.pair import PairTrainer, load_generator


def make(**extra):
    cfg = load_config("ring8-nsgan", {**FAST, **extra})
    torch.manual_seed(cfg.seed)
    return PairTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))


def test_step_updates_both_nets_and_reports_statistics():
    t = make()
    g0 = [p.clone() for p in t.g.parameters()]
    d0 = [p.clone() for p in t.d.parameters()]
    stats = t.train_step()
    assert t.step == 1
    assert {"loss_d", "loss_g", "d_acc_real", "d_acc_fake"} <= set(stats)
    assert all(not torch.equal(a, b) for a, b in zip(g0, t.g.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d0, t.d.parameters()))


def test_d_steps_draw_fresh_batches():
    t = make(**{"trainer.d_steps": 3})
    batches = []
    original = t.stream.next
    t.stream.next = lambda: batches.append(original()) or batches[-1]
    t.train_step()
    assert len(batches) == 3                       # one real batch per D step, none for G
    x = [b[0] for b in batches]
    assert not torch.equal(x[0], x[1]) and not torch.equal(x[1], x[2])


def test_g_phase_leaves_d_untouched():
    t = make()
    d0 = [p.clone() for p in t.d.parameters()]
    t.g_phase()
    assert all(torch.equal(a, b) for a, b in zip(d0, t.d.parameters()))
    assert all(p.requires_grad for p in t.d.parameters())


def test_wgan_clips_d_weights_after_each_d_step():
    t = make(**{"loss.name": "wgan", "optim.name": "rmsprop", "optim.lr_d": 0.5})
    t.d_phase()
    assert max(p.abs().max().item() for p in t.d.parameters()) <= 0.01 + 1e-9


def test_wgan_gp_reports_the_penalty():
    t = make(**{"loss.name": "wgan-gp"})
    assert t.cfg.loss.gp_weight == 10
    assert t.d_phase()["gp"] >= 0


def test_lazy_r1_runs_only_every_interval():
    t = make(**{"loss.r1_gamma": 1.0, "loss.r1_interval": 4})
    seen = [("r1" in t.train_step()) for _ in range(8)]
    # phases run before the step counter advances: steps 0 and 4 are due
    assert seen == [True, False, False, False, True, False, False, False]


def test_knob_changes_reach_the_optimizers():
    t = make()
    t.knobs.lr_g, t.knobs.lr_d = 3e-4, 7e-4
    t.apply_knobs()
    assert t.opt_g.param_groups[0]["lr"] == 3e-4 and t.opt_d.param_groups[0]["lr"] == 7e-4
    t.back_off(0.5)
    assert t.opt_g.param_groups[0]["lr"] == pytest.approx(1.5e-4)


def test_packed_discriminator_trains():
    t = make(**{"model.pack": 4})
    assert t.d(torch.zeros(64, 2)).shape == (16, 1)
    assert all(v == v for v in t.train_step().values())


def test_state_round_trip_reproduces_the_next_step():
    a = make(**{"trainer.ema_half_life": 1000.0})
    a.train_step()
    state = copy.deepcopy(a.state_dict())   # like a checkpoint: not aliasing a's live tensors
    b = make(**{"seed": 5, "trainer.ema_half_life": 1000.0})
    b.load_state_dict(state)
    sa, sb = a.train_step(), b.train_step()
    assert sa == sb
    assert all(torch.equal(x, y) for x, y in zip(a.ema.model.parameters(), b.ema.model.parameters()))


def test_final_model_is_the_ema_when_enabled():
    t = make(**{"trainer.ema_half_life": 1000.0})
    t.train_step()
    assert t.final_generative().net is t.ema.model and t.final_model_name == "ema"
    g = load_generator(t.cfg, t.dataset, t.state_dict(), torch.device("cpu"))
    z = torch.randn(4, 2)
    assert torch.equal(g.net(z), t.ema.model(z))
    a = g.generate(5, torch.Generator().manual_seed(1))
    assert torch.equal(a, t.final_generative().generate(5, torch.Generator().manual_seed(1)))


def test_the_balancers_quality_reading_is_the_ranks_mean():
    """Every rank's balancer decides on the same numbers: the quality proxy goes through the
    world's mean like the step statistics (a stand-in world adds 1 where ranks would average)."""
    from genarena.distributed import World

    class Ranks(World):
        def mean(self, stats):
            return {k: v + 1.0 for k, v in stats.items()}

    t = make(**{"controller.name": "dqn", "controller.interval": 1})
    t.world = Ranks(rank=0, size=1)
    t.quality_proxy = lambda: 0.25
    decided = []
    decide = t.controller.decide
    t.controller.decide = lambda stats, knobs: decided.append(stats["quality"]) or decide(stats, knobs)
    t.train_step()
    assert decided == [1.25]


def test_a_simultaneous_step_takes_both_gradients_at_the_same_point():
    """ALI's step: D's and G's gradients from one forward of the same batch and latents, then
    both SGD steps (momentum 0), so each net moves by −lr × its gradient at the old weights."""
    over = {"trainer.update": "simultaneous", "optim.name": "sgd", "optim.betas": [0.0, 0.999],
            "optim.lr_g": 0.1, "optim.lr_d": 0.1}
    t = make(**over)
    g0, d0 = copy.deepcopy(t.g), copy.deepcopy(t.d)
    stream, noise = copy.deepcopy(t.stream.state_dict()), t.noise.get_state()
    t.train_step()
    # the same batch and latents through the old weights, by hand
    t.stream.load_state_dict(stream)
    t.noise.set_state(noise)
    real, z = t._real(), t._latent()
    out_fake = d0(g0(z))
    loss_d = t.loss.d_loss(d0(real), out_fake)
    grads_d = torch.autograd.grad(loss_d, list(d0.parameters()), retain_graph=True)
    grads_g = torch.autograd.grad(t.loss.g_loss(out_fake), list(g0.parameters()))
    for new, old, grad in [*zip(t.d.parameters(), d0.parameters(), grads_d),
                           *zip(t.g.parameters(), g0.parameters(), grads_g)]:
        torch.testing.assert_close(new, old - 0.1 * grad, rtol=1e-5, atol=1e-6)


def test_g_steps_make_that_many_g_updates_per_d_update():
    t = make(**{"trainer.g_steps": 2})
    counts = {"g": 0, "d": 0}
    for name, opt in (("g", t.opt_g), ("d", t.opt_d)):
        step = opt.step
        opt.step = lambda *a, _s=step, _n=name, **k: counts.__setitem__(_n, counts[_n] + 1) or _s(*a, **k)
    t.train_step()
    t.train_step()
    assert counts == {"g": 4, "d": 2} and t.updates() == {"generator": 4}


def test_a_simultaneous_step_refuses_what_needs_a_d_pass_of_its_own():
    from genarena.errors import UserError
    for key, value in (("trainer.d_steps", 2), ("loss.r1_gamma", 1.0), ("trainer.g_steps", 2)):
        with pytest.raises(UserError, match=f"config key '{key}'"):
            load_config("ring8-nsgan", {"trainer.update": "simultaneous", key: value})


def test_a_d_differentiated_twice_keeps_its_own_batchnorm_under_nproc():
    """SyncBatchNorm has no double backward: with R1 or a gradient penalty, only G takes the
    global batch's statistics on CUDA ranks; D normalises its slice."""
    plain = make()
    assert plain.synchronised_nets() == [plain.g, plain.d]
    r1 = make(**{"loss.r1_gamma": 1.0})
    assert r1.synchronised_nets() == [r1.g]
    gp = make(**{"loss.name": "wgan-gp"})
    assert gp.synchronised_nets() == [gp.g]
