"""DQN and IQN agents: the quantile loss's known values, replay, and learning a control task."""
import pytest
import torch

from genarena.rl import DQNAgent, IQNNetwork, ReplayBuffer, RLSettings, quantile_huber_loss
from genarena.rl.envs.drift import DriftingAccuracy


def test_quantile_huber_loss_known_values():
    # one prediction at τ = 0.25; target above it by 2 (κ = 1): weight τ, huber 2 - 0.5
    pred, target, taus = torch.zeros(1, 1), torch.full((1, 1), 2.0), torch.full((1, 1), 0.25)
    assert quantile_huber_loss(pred, target, taus).item() == pytest.approx(0.25 * 1.5)
    # target below: weight 1 - τ
    assert quantile_huber_loss(pred, -target, taus).item() == pytest.approx(0.75 * 1.5)
    assert quantile_huber_loss(pred, torch.zeros(1, 1), taus).item() == 0.0


def test_quantile_regression_recovers_quantiles():
    torch.manual_seed(0)
    taus = torch.tensor([[0.1, 0.5, 0.9]])
    pred = torch.zeros(1, 3, requires_grad=True)
    opt = torch.optim.Adam([pred], lr=0.05)
    for _ in range(600):
        target = torch.randn(1, 256)
        loss = quantile_huber_loss(pred, target, taus, kappa=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.allclose(pred.detach(), torch.tensor([[-1.2816, 0.0, 1.2816]]), atol=0.15)


def test_iqn_network_shapes():
    net = IQNNetwork(5, 3, hidden=16)
    assert net(torch.randn(4, 5), torch.rand(4, 7)).shape == (4, 7, 3)


def test_replay_buffer_wraps_and_round_trips():
    buf = ReplayBuffer(3, 2)
    for i in range(5):
        buf.add(torch.full((2,), float(i)), i % 2, float(i), torch.zeros(2))
    assert len(buf) == 3 and sorted(buf.r.tolist()) == [2.0, 3.0, 4.0]
    other = ReplayBuffer(3, 2)
    other.load_state_dict(buf.state_dict())
    assert torch.equal(other.s, buf.s) and other.pos == buf.pos


def _mean_reward(policy, seed, steps=200):
    env, total = DriftingAccuracy(seed), 0.0
    s = env.state()
    for _ in range(steps):
        s, r = env.step(policy(s))
        total += r
    return total / steps


@pytest.mark.parametrize("head", ["dqn", "iqn"])
def test_agent_learns_to_hold_a_drifting_accuracy_in_its_band(head):
    env = DriftingAccuracy(0)
    agent = DQNAgent(env.state_dim, env.n_actions, RLSettings(epsilon_decay=300), seed=0, head=head)
    s = env.state()
    for _ in range(700):
        a, _ = agent.act(s)
        s2, r = env.step(a)
        agent.observe(s, a, r, s2)
        agent.learn()
        s = s2
    rng = torch.Generator().manual_seed(5)
    learned = _mean_reward(lambda st: agent.act(st, greedy=True)[0], seed=1)
    random = _mean_reward(lambda st: int(torch.randint(3, (), generator=rng)), seed=1)
    # random actions let the drift carry the accuracy to 1 (≈ -0.26); the agent holds the band
    assert learned > -0.06 and learned > random + 0.15, (learned, random)
