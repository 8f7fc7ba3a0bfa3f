"""The RL balancer: actions, rewards, bounded knobs, logging and exact state round trips."""
import copy

import pytest
import torch

from genarena.config import load_config
from genarena.control import BalancerController, Knobs, build_controller
from genarena.control.balancer import ACTIONS, STATE_DIM, apply_action, state_vector


def _knobs():
    return Knobs(lr_g=1e-3, lr_d=1e-3, d_steps=2, weights={"aux": 0.5, "fm": 1.0, "con": 0.1})


def _stats(acc=0.7, loss_d=1.0, quality=0.5):
    return {"d_acc_real": acc, "d_acc_fake": acc, "loss_d": loss_d, "loss_g": 1.0,
            "quality": quality}


@pytest.mark.parametrize("action, key, factor", [("lr_d_up", "lr_d", 1.5), ("lr_d_down", "lr_d", 1 / 1.5),
                                                 ("lr_g_up", "lr_g", 1.5), ("lr_g_down", "lr_g", 1 / 1.5)])
def test_learning_rate_actions(action, key, factor):
    assert getattr(apply_action(action, _knobs()), key) == pytest.approx(1e-3 * factor)


def test_other_actions():
    assert apply_action("d_steps_up", _knobs()).d_steps == 3
    assert apply_action("d_steps_down", _knobs()).d_steps == 1
    assert apply_action("aux_up", _knobs()).weights["aux"] == 1.0
    assert apply_action("aux_down", _knobs()).weights["aux"] == 0.25
    noop = apply_action("noop", _knobs())
    assert (noop.lr_g, noop.lr_d, noop.d_steps) == (1e-3, 1e-3, 2)


def _controller(name="dqn"):
    cfg = load_config("ring8-mspg", {"controller.name": name})
    return build_controller(cfg.controller, seed=0)


def test_reward_penalises_distance_oscillation_and_rewards_quality():
    c = _controller()
    assert isinstance(c, BalancerController)
    c.decide(_stats(acc=0.7, loss_d=1.0, quality=1.0), _knobs())
    r_good, _ = c.reward(_stats(acc=0.7, loss_d=1.0, quality=0.5), {"acc": 0.7})
    r_bad, _ = c.reward(_stats(acc=0.95, loss_d=2.0, quality=2.0), {"acc": 0.95})
    assert r_good > 0 > r_bad


@pytest.mark.parametrize("name", ["dqn", "iqn"])
def test_any_policy_keeps_knobs_in_bounds_and_logs_its_decisions(name):
    c, k = _controller(name), _knobs()
    for i in range(60):
        k = c.decide(_stats(acc=0.5 + 0.005 * i, loss_d=1 + 0.01 * i), k)
        assert 1e-4 <= k.lr_g <= 1e-2 and 1e-4 <= k.lr_d <= 1e-2 and 1 <= k.d_steps <= 10
        assert 0.05 <= k.weights["aux"] <= 5.0
    log = c.log()
    assert {"bal_action", "bal_reward", "bal_q_max", "bal_q_mean", "bal_epsilon"} <= set(log)
    assert 0 <= log["bal_action"] < len(ACTIONS) and "bal_loss" in log


def test_state_vector_size():
    c = _controller()
    seen = c.perception.observe(_stats())
    assert state_vector(seen, _knobs()).shape == (STATE_DIM,)


def test_state_round_trip_gives_the_same_decisions():
    a, k = _controller(), _knobs()
    for i in range(40):
        k = a.decide(_stats(acc=0.6 + 0.01 * (i % 7)), k).clamp()
    b = _controller()
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    ka, kb = copy.deepcopy(k), copy.deepcopy(k)
    for i in range(20):
        ka = a.decide(_stats(acc=0.9 - 0.01 * i), ka).clamp()
        kb = b.decide(_stats(acc=0.9 - 0.01 * i), kb).clamp()
        assert a.log() == b.log()
    assert torch.equal(torch.tensor([ka.lr_g, ka.lr_d]), torch.tensor([kb.lr_g, kb.lr_d]))
