"""The multi-agent learner on the two-step matrix game (docs/dfac.md): QMIX and DMIX find the return-8
joint action, VDN and DDN settle on 7, as the QMIX paper's analysis predicts; DMIX and DDN learn
the joint return's two-point distribution (noise ±2) with monotone quantiles."""
import pytest
import torch

from genarena.bench.dfac import MATRIX_GAME_SETTINGS
from genarena.rl import MultiAgentLearner, run_episode, train
from genarena.rl.envs.matrix_game import TwoStepGame, true_return, wasserstein1
from genarena.rl.episodes import Episode

NOISE, GAMMA = 2.0, 0.99
# full exploration throughout, as in the QMIX paper's matrix-game analysis
SETTINGS = MATRIX_GAME_SETTINGS


def _learner(method, seed=0):
    g = TwoStepGame
    return MultiAgentLearner(method, g.n_agents, g.obs_dim, g.state_dim, g.n_actions, g.horizon,
                             SETTINGS, seed)


def test_learner_waits_for_a_batch_and_round_trips():
    learner = _learner("dmix")
    assert learner.learn() is None
    train(learner, TwoStepGame(NOISE), episodes=40)
    copy = _learner("dmix", seed=5)
    copy.load_state_dict(learner.state_dict())
    obs = TwoStepGame().reset()[0]
    assert torch.equal(copy.act(obs), learner.act(obs))
    assert copy.learn() == pytest.approx(learner.learn())


@pytest.mark.parametrize("method,expected", [("vdn", 7.0), ("qmix", 8.0), ("ddn", 7.0),
                                             ("dmix", 8.0)])
@pytest.mark.slow
def test_matrix_game_greedy_return(method, expected):
    learner = _learner(method)
    train(learner, TwoStepGame(NOISE, seed=0), episodes=3000)
    episode, ret = run_episode(learner, TwoStepGame(noise=0.0), greedy=True)
    assert ret == expected
    if not learner.spec.distributional:
        return
    omegas = learner.midpoints(1, 200)
    with torch.no_grad():
        quantiles = learner.joint_quantiles(episode.obs[:1], episode.state[:1],
                                            episode.actions[:1], omegas)[0]
    assert (quantiles.diff() >= 0).all()                      # monotone in ω
    support, probs = true_return(int(episode.actions[0, 0]), tuple(episode.actions[1].tolist()),
                                 NOISE, GAMMA)
    # bound: half the distance of a point mass at the true mean (W1 = γ·c = 1.98)
    assert wasserstein1(quantiles, support, probs, omegas[0]) < 0.5 * GAMMA * NOISE


def _episode(rewards):
    g = TwoStepGame
    t = len(rewards)
    return Episode(obs=torch.zeros(t + 1, g.n_agents, g.obs_dim),
                   state=torch.zeros(t + 1, g.state_dim),
                   actions=torch.zeros(t, g.n_agents, dtype=torch.long),
                   reward=torch.tensor(rewards), terminated=torch.zeros(t))


def test_reward_scaling_divides_by_the_running_sd_of_stored_rewards():
    from dataclasses import replace
    g = TwoStepGame
    learner = MultiAgentLearner("qmix", g.n_agents, g.obs_dim, g.state_dim, g.n_actions,
                                g.horizon, replace(SETTINGS, reward_scaling=True), 0)
    assert learner.reward_scale == 1.0                     # nothing seen: no scaling
    learner.store(_episode([0.0, 0.0]))
    assert learner.reward_scale == 1.0                     # no spread yet: no scaling
    learner.store(_episode([0.0, 4.0]))
    # rewards 0, 0, 0, 4: mean 1, population variance 16/4 - 1 = 3
    assert learner.reward_scale == pytest.approx(3 ** 0.5)
    copy = MultiAgentLearner("qmix", g.n_agents, g.obs_dim, g.state_dim, g.n_actions, g.horizon,
                             replace(SETTINGS, reward_scaling=True), 1)
    copy.load_state_dict(learner.state_dict())
    assert copy.reward_scale == pytest.approx(3 ** 0.5)
    plain = _learner("qmix")
    plain.store(_episode([0.0, 4.0]))
    assert plain.reward_scale == 1.0                       # off by default


def test_reward_scaling_scales_the_td_target():
    """With every network output zero, the TD error is the scaled reward alone."""
    from dataclasses import replace
    g = TwoStepGame
    losses = {}
    for scaling in (False, True):
        learner = MultiAgentLearner("vdn", g.n_agents, g.obs_dim, g.state_dim, g.n_actions,
                                    g.horizon, replace(SETTINGS, reward_scaling=scaling, batch=1), 0)
        for p in learner.online.parameters():
            torch.nn.init.zeros_(p)
        learner.target.load_state_dict(learner.online.state_dict())
        learner.store(_episode([0.0, 4.0]))
        batch = learner.replay.sample(1, learner.rng)
        losses[scaling] = learner._loss(batch).item()
    assert losses[False] == pytest.approx(16 / 2)           # (0² + 4²) / 2 transitions
    assert losses[True] == pytest.approx(16 / 2 / 4)         # rewards 0, 4 → sd 2 → 0, 2
