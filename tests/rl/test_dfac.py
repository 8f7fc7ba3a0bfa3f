"""The multi-agent learner on the two-step matrix game (SPEC 9): QMIX and DMIX find the return-8
joint action, VDN and DDN settle on 7, as the QMIX paper's analysis predicts; DMIX and DDN learn
the joint return's two-point distribution (noise ±2) with monotone quantiles."""
import pytest
import torch

from genarena.bench.dfac import MATRIX_GAME_SETTINGS
from genarena.rl import MultiAgentLearner, run_episode, train
from genarena.rl.envs.matrix_game import TwoStepGame, true_return, wasserstein1

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
