"""Individuals and operators: lr mutation that reaches the optimizer, tournaments, survivors."""
import io

import torch
from torch import nn

from genarena.coevolution.population import (
    Member,
    NetView,
    judged,
    materialise,
    mutate_lr,
    survivors,
    tournament,
)


def _member(lr=1e-3):
    net = nn.Linear(3, 2)
    return Member(net, torch.optim.Adam(net.parameters(), lr=lr), lr)


def _make_opt(net, lr):
    return torch.optim.Adam(net.parameters(), lr=lr)


def _round_trip(state):
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_mutated_lr_is_the_optimizers_lr_after_a_state_round_trip():
    m = _member(1e-3)
    m.net(torch.randn(4, 3)).sum().backward()
    m.opt.step()                                     # the optimizer state now holds lr=1e-3
    rng = torch.Generator().manual_seed(0)
    assert mutate_lr(m, 1e-3, probability=1.0, scale=0.5, lr_min=1e-6, rng=rng)
    assert m.lr != 1e-3 and m.opt.param_groups[0]["lr"] == m.lr
    back = materialise(_round_trip(m.state()), lambda: nn.Linear(3, 2), _make_opt)
    assert back.lr == m.lr
    assert back.opt.param_groups[0]["lr"] == m.lr    # not the 1e-3 stored in the Adam state


def test_mutation_respects_probability_and_floor():
    rng = torch.Generator().manual_seed(1)
    m = _member(1e-3)
    assert not mutate_lr(m, 1e-3, probability=0.0, scale=0.5, lr_min=1e-6, rng=rng)
    assert m.lr == 1e-3
    for _ in range(200):
        mutate_lr(m, 1e-3, probability=1.0, scale=5.0, lr_min=1e-5, rng=rng)
        assert m.lr >= 1e-5
    changed = sum(mutate_lr(_member(), 1e-3, 0.3, 0.5, 1e-6, rng) for _ in range(2000))
    assert 500 < changed < 700


def test_mutation_noise_has_the_configured_scale():
    rng = torch.Generator().manual_seed(2)
    steps = []
    for _ in range(4000):
        m = _member(1e-3)
        mutate_lr(m, 1e-3, 1.0, 0.1, 1e-9, rng)
        steps.append(m.lr - 1e-3)
    assert abs(torch.tensor(steps).std().item() - 1e-4) < 5e-6


def test_materialise_does_not_share_optimizer_tensors_with_its_source():
    m = _member()
    m.net(torch.randn(4, 3)).sum().backward()
    m.opt.step()
    state = m.state()
    before = state["opt"]["state"][0]["exp_avg"].clone()
    live = materialise(state, lambda: nn.Linear(3, 2), _make_opt)
    live.net(torch.randn(4, 3)).sum().backward()
    live.opt.step()
    assert torch.equal(state["opt"]["state"][0]["exp_avg"], before)


def test_tournament_of_two_picks_the_fitter():
    rng = torch.Generator().manual_seed(0)
    assert all(tournament([0.7, 0.2], 1, 2, rng) == [1] for _ in range(50))
    assert all(tournament([0.1, 0.9], 1, 2, rng) == [0] for _ in range(50))


def test_tournament_winner_is_never_the_worst_and_the_best_wins_most():
    rng = torch.Generator().manual_seed(0)
    fitness = [0.5, 0.1, 0.9, 0.3, 0.7]
    wins = tournament(fitness, 2000, 2, rng)
    assert 2 not in wins                          # the worst can only win against itself
    counts = torch.bincount(torch.tensor(wins), minlength=5)
    assert counts[1] == counts.max()              # best: wins all 2 of 5·4/2 pairings it is in
    assert abs(counts[1].item() / 2000 - 0.4) < 0.05


def test_survivors_are_the_fittest():
    ms = [_member() for _ in range(4)]
    for m, f in zip(ms, [0.4, 0.1, 0.3, 0.1]):
        m.fitness = f
    assert survivors(ms, 2) == [ms[1], ms[3]]


def _bn_net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))


def test_a_net_view_computes_what_a_freshly_built_net_computes_in_either_mode():
    torch.manual_seed(0)
    source = _bn_net()
    source[1].running_mean.fill_(0.5)
    state = {k: v.clone() for k, v in source.state_dict().items()}
    x = torch.randn(8, 3)
    with torch.no_grad():
        for mode in (True, False):
            built = _bn_net()
            built.load_state_dict(state)
            built.train(mode)
            assert torch.allclose(NetView(_bn_net(), state).train(mode)(x), built(x))


def test_a_train_mode_view_leaves_the_individuals_buffers_alone():
    state = {k: v.clone() for k, v in _bn_net().state_dict().items()}
    before = {k: v.clone() for k, v in state.items()}
    with torch.no_grad():
        NetView(_bn_net(), state)(torch.randn(8, 3) + 3)
    assert all(torch.equal(state[k], before[k]) for k in state)


def test_a_judged_survivor_returns_its_source_with_the_new_fitness():
    state = {"net": _bn_net().state_dict(), "opt": {}, "lr": 1e-3, "fitness": 2.0}
    j = judged(state, _bn_net())
    assert j.fitness == 2.0
    j.fitness = 0.5
    out = j.state()
    assert out["fitness"] == 0.5 and state["fitness"] == 2.0 and out["net"] is state["net"]
