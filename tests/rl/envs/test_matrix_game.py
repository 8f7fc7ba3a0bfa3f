"""The two-step matrix game: transitions, payoffs, zero-mean noise, and the true-return helpers."""
import pytest
import torch

from genarena.rl.envs.matrix_game import TwoStepGame, quantile_function, true_return, wasserstein1


@pytest.mark.parametrize("first,second,payoff", [(0, (0, 1), 7.0), (1, (1, 1), 8.0),
                                                 (1, (0, 0), 0.0), (1, (0, 1), 1.0)])
def test_payoffs_follow_the_qmix_table(first, second, payoff):
    env = TwoStepGame(noise=0.0)
    obs, state = env.reset()
    assert state.tolist() == [1.0, 0.0, 0.0] and obs.shape == (2, 3)
    obs, state, r, done = env.step(torch.tensor([first, 1 - first]))   # agent 2 cannot choose
    assert r == 0.0 and not done and state.argmax() == 1 + first
    _, _, r, done = env.step(torch.tensor(second))
    assert r == payoff and done


def test_noise_is_plus_or_minus_c_with_zero_mean():
    env, rewards = TwoStepGame(noise=2.0, seed=3), []
    for _ in range(2000):
        env.reset()
        env.step(torch.tensor([0, 0]))
        rewards.append(env.step(torch.tensor([0, 0]))[2])
    assert set(rewards) == {5.0, 9.0}
    assert sum(rewards) / len(rewards) == pytest.approx(7.0, abs=0.15)


def test_true_return_quantiles_and_wasserstein():
    support, probs = true_return(1, (1, 1), noise=2.0, gamma=0.5)
    assert support == [3.0, 5.0] and probs == [0.5, 0.5]
    omegas = (torch.arange(4) + 0.5) / 4
    assert quantile_function(support, probs, omegas).tolist() == [3.0, 3.0, 5.0, 5.0]
    # a point mass at the mean is c·γ away everywhere
    assert wasserstein1(torch.full((4,), 4.0), support, probs, omegas) == pytest.approx(1.0)
