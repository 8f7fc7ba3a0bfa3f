"""Recurrent agents (PyMARL's RNN agent) and the batched learner path they share with the
feed-forward agents: unrolled features equal step-by-step acting, gradients reach every part,
masked actions are never taken."""
import dataclasses

import pytest
import torch

from genarena.rl import METHODS, MultiAgentLearner, RLSettings
from genarena.rl.agents import RecurrentAgentUtilities
from genarena.rl.episodes import Episode


def test_unrolled_features_equal_stepwise_hidden_states():
    torch.manual_seed(0)
    agents = RecurrentAgentUtilities(n_agents=3, obs_dim=5, n_actions=4, hidden=8,
                                     distributional=False)
    obs, actions = torch.randn(2, 7, 3, 5), torch.randint(4, (2, 6, 3))
    feats = agents.features(obs, actions)
    assert feats.shape == (2, 7, 3, 8)
    h, last = agents.initial(2), torch.full((2, 3), -1)
    for t in range(7):
        h = agents.step(obs[:, t], last, h)
        torch.testing.assert_close(feats[:, t], h)
        if t < 6:
            last = actions[:, t]
    # the hidden state carries the past: a different first observation changes a later one
    other = obs.clone()
    other[:, 0] += 1.0
    assert not torch.allclose(agents.features(other, actions)[:, 4], feats[:, 4])


@pytest.mark.parametrize("last_action", [True, False])
def test_the_sequence_gru_has_the_stepwise_unrolls_values_and_gradients(last_action):
    # fast features() run the cell's weights as one sequence (marl.fast_update); acting steps the
    # cell: at an EPyMARL batch's size (32 episodes of 50 steps, 3 agents, GRU 128) they agree
    torch.manual_seed(0)
    agents = RecurrentAgentUtilities(3, 27, 6, 128, distributional=False, last_action=last_action,
                                     fast=True)
    obs, actions = torch.randn(32, 51, 3, 27), torch.randint(6, (32, 50, 3))
    weights = torch.randn(32, 51, 3, 128)
    (agents.features(obs, actions) * weights).sum().backward()
    sequence = {n: p.grad.clone() for n, p in agents.named_parameters() if p.grad is not None}
    assert set(sequence) == {f"{m}.{w}" for m, ws in (("fc", ("weight", "bias")), ("gru", (
        "weight_ih", "weight_hh", "bias_ih", "bias_hh"))) for w in ws}
    agents.zero_grad()
    h, last, out = agents.initial(32), torch.full((32, 3), -1), []
    for t in range(51):
        h = agents.step(obs[:, t], last, h)
        out.append(h)
        last = actions[:, t] if t < 50 else last
    stepwise = torch.stack(out, 1)
    torch.testing.assert_close(agents.features(obs, actions), stepwise)
    (stepwise * weights).sum().backward()
    for name, grad in sequence.items():          # the same sums in another order: float32 rounding
        torch.testing.assert_close(grad, agents.get_parameter(name).grad, rtol=1e-5,
                                   atol=1e-6 * grad.abs().max().item(), msg=name)


def test_distributional_recurrent_utilities_are_monotone_quantiles():
    agents = RecurrentAgentUtilities(2, 4, 3, 8, distributional=True)
    taus = torch.rand(5, 6).sort(1).values
    z = agents(torch.randn(5, 2, 8), taus)
    assert z.shape == (5, 6, 2, 3)
    assert (z.diff(dim=1) >= 0).all()


@pytest.mark.parametrize("fast", [False, True])
def test_the_recurrent_quantile_head_is_dfacs_one_linear_layer_on_h_times_phi(fast):
    """DFAC's IQNRNNAgent: q(τ) = fc2(h ⊙ ReLU(φ(cos(π i τ)))), i = 0..63, the team's fractions
    shared by its agents; genarena then sorts the outputs (monotone rearrangement)."""
    agents = RecurrentAgentUtilities(2, 4, 3, 8, distributional=True, fast=fast)
    h, taus = torch.randn(5, 2, 8), torch.rand(5, 6).sort(1).values
    phi = torch.relu(torch.cos(torch.pi * taus[..., None] * torch.arange(64.0))
                     @ agents.net.phi.linear.weight.T + agents.net.phi.linear.bias)   # (5, 6, 8)
    head = agents.net.head
    by_hand = (h[:, None] * phi[:, :, None]) @ head.weight.T + head.bias           # (5, 6, 2, 3)
    torch.testing.assert_close(agents(h, taus), by_hand.sort(1).values, rtol=1e-5, atol=1e-5)
    # each agent at its own fractions (DIQL): rows b·K + k of τ
    own = torch.rand(10, 6).sort(1).values
    z = agents(h, own)
    for b, k in ((0, 0), (3, 1)):
        torch.testing.assert_close(z[b, :, k], agents(h[b:b + 1, k:k + 1], own[2 * b + k][None])[0, :, 0])


@pytest.mark.parametrize("method,rows", [("diql", 15), ("dmix", 5), ("ddn", 5)])
def test_diqls_agents_draw_their_own_fractions_and_mixed_teams_share_them(method, rows):
    """As DFAC's agents: each independent learner its own fractions; a mixer's agents one set."""
    learner = MultiAgentLearner(method, 3, 4, 5, 3, 10, RLSettings(), seed=0, recurrent=True)
    assert learner._sampled(5, 8).shape == (rows, 8)


def _episode(t, k=2, o=3, s=4, a=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    avail = torch.ones(t + 1, k, a, dtype=torch.bool)
    avail[:, :, 2] = False                        # action 2 is never available
    return Episode(torch.randn(t + 1, k, o, generator=g), torch.randn(t + 1, s, generator=g),
                   torch.randint(2, (t, k), generator=g), torch.randn(t, generator=g),
                   torch.zeros(t), avail)


def _padded(batch: dict, horizon: int) -> dict:
    """A truncated batch padded back to the horizon, as the replay stores it."""
    out = {}
    for key, v in batch.items():
        t = horizon + 1 if key in ("obs", "state", "avail") else horizon
        pad = torch.zeros((v.shape[0], t - v.shape[1], *v.shape[2:]), dtype=v.dtype)
        out[key] = torch.cat([v, pad.fill_(True) if v.dtype == torch.bool else pad], 1)
    return out


@pytest.mark.parametrize("method", ["qmix", "dmix", "iql"])
def test_cutting_a_batch_to_its_longest_episode_leaves_the_loss_as_it_was(method):
    """Padded steps are masked out of the TD loss and the GRU is causal: the loss and its
    gradients on the cut batch are those of the padded one, bit for bit (only a statistic over
    the whole batch, EPyMARL's reward standardisation, sees the cut, as EPyMARL's does)."""
    settings = RLSettings(hidden=8, batch=6, quantiles=4, target_quantiles=4)
    learner = MultiAgentLearner(method, 2, 3, 4, 3, horizon=9, settings=settings, seed=0,
                                recurrent=True)
    for i, t in enumerate((2, 5, 3, 4)):
        learner.store(_episode(t, seed=i))
    batch = learner.replay.sample(6, learner.rng)
    assert batch["actions"].shape[1] == 5
    losses, grads = [], []
    for b in (batch, _padded(batch, 9)):
        rng = learner.rng.get_state()
        learner.online.zero_grad()
        loss = learner._loss(b)
        loss.backward()
        learner.rng.set_state(rng)
        losses.append(loss)
        grads.append([p.grad.clone() for p in learner.online.parameters() if p.grad is not None])
    assert torch.equal(losses[0], losses[1])
    assert len(grads[0]) == len(grads[1]) and all(map(torch.equal, *grads))


def test_every_method_learns_on_recurrent_agents_and_reaches_every_parameter():
    settings = RLSettings(hidden=8, batch=4, replay=16, quantiles=4, target_quantiles=4)
    for method in METHODS:
        learner = MultiAgentLearner(method, 2, 3, 4, 3, horizon=6, settings=settings, seed=1,
                                    recurrent=True)
        for i in range(4):
            learner.store(_episode(3 + i % 3, seed=i))
        before = [p.detach().clone() for p in learner.online.parameters()]
        loss = learner.learn()
        assert loss is not None and torch.isfinite(torch.tensor(loss)), method
        moved = [not torch.equal(b, p) for b, p in zip(before, learner.online.parameters())]
        assert all(moved), method               # the GRU, the head and the mixer all trained


def test_acting_in_batches_never_picks_an_unavailable_action():
    learner = MultiAgentLearner("dmix", 2, 3, 4, 3, horizon=6,
                                settings=RLSettings(hidden=8, quantiles=4), seed=0, recurrent=True)
    obs = torch.randn(16, 2, 3)
    avail = torch.ones(16, 2, 3, dtype=torch.bool)
    avail[..., 1] = False
    h, last = learner.agents.initial(16), torch.full((16, 2), -1)
    test_draws = torch.Generator().manual_seed(1)
    for epsilon in (None, 0.0, 1.0):             # training, greedy, a test at ε = 1
        for _ in range(20):                      # ε = 1 at the start: random actions too
            actions, h = learner.act_teams(obs, avail, h, last, epsilon, test_draws)
            assert actions.shape == (16, 2) and not (actions == 1).any()
    assert learner.decisions == 16 * 20          # ε falls per team and step, not in tests


def test_a_test_at_a_fixed_epsilon_leaves_the_training_stream_alone():
    """EPyMARL evaluates at a small ε: those draws come from the test's own generator, so the
    learner's generator, its ε schedule and so its training are what they would be without tests."""
    learner = MultiAgentLearner("qmix", 3, 4, 5, 4, horizon=6,
                                settings=RLSettings(hidden=8), seed=0, recurrent=True)
    obs, avail = torch.randn(32, 3, 4), torch.ones(32, 3, 4, dtype=torch.bool)
    h, last = learner.agents.initial(32), torch.full((32, 3), -1)
    before = learner.rng.get_state()
    greedy, _ = learner.act_teams(obs, avail, h, last, 0.0)
    random, _ = learner.act_teams(obs, avail, h, last, 1.0, torch.Generator().manual_seed(0))
    again, _ = learner.act_teams(obs, avail, h, last, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(learner.rng.get_state(), before) and learner.decisions == 0
    assert torch.equal(random, again) and not torch.equal(random, greedy)
    with pytest.raises(ValueError, match="own generator"):
        learner.act_teams(obs, avail, h, last, 0.05)


@pytest.mark.parametrize("tau", [0.0, 0.25])
def test_targets_are_copied_every_interval_or_moved_by_tau_after_every_update(tau):
    """Hard targets (EPyMARL's IQL on LBF): the online net every target_update updates. Soft
    targets (its VDN and QMIX): a step of τ towards the online net after every update."""
    settings = RLSettings(hidden=8, batch=2, target_update=3, target_tau=tau)
    learner = MultiAgentLearner("vdn", 2, 3, 4, 3, horizon=4, settings=settings, seed=0)
    params = lambda net: torch.cat([p.detach().flatten() for p in net.parameters()])  # noqa: E731
    for update in range(1, 4):
        old_target = params(learner.target)
        loss = sum(p.square().sum() for p in learner.online.parameters())
        learner._update(loss)
        online, target = params(learner.online), params(learner.target)
        if tau > 0:
            assert torch.allclose(target, old_target + tau * (online - old_target), atol=1e-7)
        elif update < 3:
            assert torch.equal(target, old_target)
        else:
            assert torch.equal(target, online)


def test_the_learners_multi_tensor_update_is_the_per_parameter_loop_bit_for_bit():
    """Adam over all parameters at once and the soft target's one lerp over all of them (the
    learner's speed, docs/performance.md) change no bit of what a loop over parameters gives."""
    def trained(loop: bool) -> list[torch.Tensor]:
        # the loop: Adam's per-parameter path, and the soft target stepped by hand
        settings = RLSettings(hidden=8, batch=2, target_tau=0.0 if loop else 0.01,
                              target_update=10 ** 9)
        learner = MultiAgentLearner("qmix", 2, 3, 4, 3, horizon=4, settings=settings, seed=0,
                                    recurrent=True)
        learner.opt.param_groups[0]["foreach"] = not loop
        for update in range(6):
            learner._update(sum((p - update).square().sum() for p in learner.online.parameters()))
            if loop:
                with torch.no_grad():
                    for t, o in zip(learner.target.parameters(), learner.online.parameters()):
                        t.lerp_(o, 0.01)
        return [p.detach() for net in (learner.online, learner.target) for p in net.parameters()]
    loop, ours = trained(True), trained(False)
    assert len(loop) == len(ours) and all(torch.equal(a, b) for a, b in zip(loop, ours))


def test_epymarl_standardises_each_batch_of_rewards_padding_included():
    """EPyMARL's standardise_rewards at the paper's commit: (r − mean) / (sd + 1e-5) over the
    sampled batch's whole reward grid, the zeros of padded steps included (up to the batch's
    longest episode: the replay cuts the batch there, as PyMARL's run loop)."""
    settings = RLSettings(hidden=8, reward_standardise=True)
    learner = MultiAgentLearner("qmix", 2, 3, 4, 3, horizon=3, settings=settings, seed=0)
    reward = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])          # 2 episodes, 3 steps
    mean, sd = 1 / 6, (((1 - 1 / 6) ** 2 + 5 * (1 / 6) ** 2) / 5) ** 0.5
    expected = (reward - mean) / (sd + 1e-5)
    assert torch.allclose(learner.learning_rewards({"reward": reward}), expected)
    plain = MultiAgentLearner("qmix", 2, 3, 4, 3, horizon=3, settings=RLSettings(hidden=8), seed=0)
    assert torch.equal(plain.learning_rewards({"reward": reward}), reward)


def test_agents_without_the_last_action_read_only_the_observation_and_id():
    """EPyMARL's paper configs set obs_last_action: False; the GRU's input then has no action."""
    from genarena.rl.agents import RecurrentAgentUtilities
    torch.manual_seed(0)
    agents = RecurrentAgentUtilities(2, 3, 4, 8, distributional=False, last_action=False)
    assert agents.fc.in_features == 3 + 2
    obs = torch.randn(5, 4, 2, 3)
    one, other = torch.zeros(5, 3, 2, dtype=torch.long), torch.full((5, 3, 2), 3)
    assert torch.equal(agents.features(obs, one), agents.features(obs, other))
    assert RecurrentAgentUtilities(2, 3, 4, 8, distributional=False).fc.in_features == 3 + 4 + 2


def test_epymarls_time_limit_is_a_terminal_state_where_genarenas_bootstraps():
    """EPyMARL's gym wrapper (83a745bc) returns no episode_limit info, so its runner stores an
    episode's last step as terminal however it ended; marl.time_limit_terminal does the same
    (target 0 there), and the default keeps bootstrapping a truncation. Padding stays 0."""
    terminated = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    batch = {"terminated": terminated, "mask": mask}
    ours = MultiAgentLearner("qmix", 2, 3, 4, 3, horizon=3, settings=RLSettings(hidden=8), seed=0)
    theirs = MultiAgentLearner("qmix", 2, 3, 4, 3, horizon=3, seed=0,
                               settings=RLSettings(hidden=8, time_limit_terminal=True))
    assert torch.equal(ours._terminal(batch), terminated)
    assert torch.equal(theirs._terminal(batch), torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0],
                                                              [1.0, 0.0, 0.0]]))
    # in the loss, same nets: only the truncated episode's last target changes
    ep = Episode(torch.randn(3, 2, 3), torch.randn(3, 4), torch.randint(3, (2, 2)),
                 torch.tensor([0.0, 1.0]), torch.zeros(2), None)
    ours.replay.add(ep)
    sampled = ours.replay.sample(1, torch.Generator().manual_seed(0))
    bootstrapped = ours._loss(sampled)
    ours.settings = dataclasses.replace(ours.settings, time_limit_terminal=True)
    assert not torch.equal(ours._loss(sampled), bootstrapped)
    sampled["terminated"][0, -1] = 1.0                  # had the task ended there: no difference
    terminal = ours._loss(sampled)
    ours.settings = dataclasses.replace(ours.settings, time_limit_terminal=False)
    assert torch.equal(ours._loss(sampled), terminal)
