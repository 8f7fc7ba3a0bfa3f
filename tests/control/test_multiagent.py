"""Grid controllers: per-cell balancers and the DFAC team set every cell's knobs within bounds,
learn from the grid's improvement, and resume exactly."""
import math

import pytest
import torch

from genarena.config import ControllerConfig
from genarena.control import CellBalancers, DFACController, build_grid_controller
from genarena.control.multiagent import OBS_DIM, cell_knobs

CELLS = 4


def _states(step, seed=0):
    gen = torch.Generator().manual_seed(seed * 1000 + step)
    out = {}
    for c in range(CELLS):
        r = torch.rand(4, generator=gen).tolist()
        out[c] = {"score": 1.0 / (step + 1) + r[0], "knobs": None,
                  "stats": {"loss_d": r[1], "loss_g": 1 + r[2], "d_acc_real": r[3],
                            "d_acc_fake": 1 - r[3]}}
    return out


def _dfac(mixer="dmix", seed=0):
    cfg = ControllerConfig(name="dfac", interval=1, mixer=mixer, batch=4, epsilon_decay=10,
                           rho=10.0, updates_per_decision=2)
    return build_grid_controller(cfg, CELLS, seed)


def _drive(controller, steps, seed=0):
    decisions = []
    for step in range(steps):
        states = _states(step, seed)
        knobs = controller.decide_grid(states)
        decisions.append({c: k.state_dict() for c, k in knobs.items()})
    return decisions


def test_static_means_no_grid_controller():
    assert build_grid_controller(ControllerConfig(name="static"), CELLS) is None


@pytest.mark.parametrize("mixer", ["dmix", "ddn", "qmix", "vdn", "diql", "iql"])
def test_dfac_sets_bounded_knobs_for_every_cell_and_learns(mixer):
    controller = _dfac(mixer)
    assert isinstance(controller, DFACController)
    decisions = _drive(controller, 12)
    for step in decisions:
        assert sorted(step) == list(range(CELLS))
        for k in step.values():
            assert 0.1 <= k["lr_g"] <= 10 and 0.1 <= k["lr_d"] <= 10 and 1 <= k["d_steps"] <= 10
    log = controller.log()
    assert {"dfac_reward", "dfac_loss", "dfac_epsilon"} <= set(log)
    assert controller.learner.updates > 0


def test_dfac_team_reward_is_the_improvement_of_the_best_score():
    controller = _dfac()
    first, second = _states(0), _states(1)
    controller.decide_grid(first)
    controller.decide_grid(second)
    best0 = min(s["score"] for s in first.values())
    best1 = min(s["score"] for s in second.values())
    assert controller.log()["dfac_reward"] == pytest.approx(10.0 * math.log(best0 / best1))


def test_dfac_observations_have_one_row_per_cell():
    obs, best = _dfac().observe(_states(0))
    assert obs.shape == (CELLS, OBS_DIM)
    assert obs[:, -1].min() == 0.0                    # the best cell's standing is log 1


def test_cell_balancers_are_independent_agents():
    cfg = ControllerConfig(name="dqn", interval=1, batch=4, epsilon_decay=10)
    controller = build_grid_controller(cfg, CELLS, 0)
    assert isinstance(controller, CellBalancers) and len(controller.cells) == CELLS
    nets = [b.agent.online for b in controller.cells]
    assert not torch.equal(nets[0][0].weight, nets[1][0].weight)
    _drive(controller, 8)
    assert all(b.agent.updates > 0 for b in controller.cells)
    assert "bal_reward" in controller.log()


@pytest.mark.parametrize("name", ["dqn", "dfac"])
def test_state_round_trip_gives_the_same_decisions(name):
    cfg = ControllerConfig(name=name, interval=1, batch=4, epsilon_decay=10)
    a = build_grid_controller(cfg, CELLS, 0)
    _drive(a, 6)
    b = build_grid_controller(cfg, CELLS, 3)
    b.load_state_dict(a.state_dict())
    states = _states(7)
    assert {c: k.state_dict() for c, k in a.decide_grid(states).items()} == \
        {c: k.state_dict() for c, k in b.decide_grid(states).items()}


def test_cell_knobs_default_to_the_evolved_rates():
    k = cell_knobs({"knobs": None})
    assert (k.lr_g, k.lr_d, k.d_steps) == (1.0, 1.0, 1)
