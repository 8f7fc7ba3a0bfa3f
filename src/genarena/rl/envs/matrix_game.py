"""The two-step cooperative matrix game (Rashid et al. 2018, QMIX §6.1) with stochastic rewards,
the test bed of DFAC's factorisation (docs/dfac.md).

Step 1 (state 1): agent 1's action chooses the next state, 2A (action 0) or 2B (action 1); the
reward is 0. Step 2: in 2A every joint action pays 7; in 2B the joint actions pay [[0, 1], [1, 8]].
The episode then ends. Our noise: each step-2 payoff is r + c·ξ with ξ = ±1 equally likely
(zero mean, variance c²), so the return of a joint policy has a known two-point distribution.
Both agents observe the state (one-hot, 3 states), which is also the mixers' global state.
"""
from __future__ import annotations

import torch
from torch import Tensor

PAYOFF = {1: torch.full((2, 2), 7.0), 2: torch.tensor([[0.0, 1.0], [1.0, 8.0]])}   # 2A, 2B


class TwoStepGame:
    """reset() -> (obs (2, 3), state (3,)); step(actions) -> (obs, state, reward, done)."""

    n_agents, n_actions, obs_dim, state_dim, horizon = 2, 2, 3, 3, 2

    def __init__(self, noise: float = 2.0, seed: int = 0) -> None:
        self.noise = noise
        self.rng = torch.Generator().manual_seed(seed)
        self.current = 0

    def _observe(self) -> tuple[Tensor, Tensor]:
        state = torch.nn.functional.one_hot(torch.tensor(self.current), 3).float()
        return state.expand(self.n_agents, 3).clone(), state

    def reset(self) -> tuple[Tensor, Tensor]:
        self.current = 0
        return self._observe()

    def step(self, actions: Tensor) -> tuple[Tensor, Tensor, float, bool]:
        if self.current == 0:
            self.current = 1 + int(actions[0])
            obs, state = self._observe()
            return obs, state, 0.0, False
        payoff = float(PAYOFF[self.current][int(actions[0]), int(actions[1])])
        sign = 1.0 if torch.rand((), generator=self.rng).item() < 0.5 else -1.0
        obs, state = self._observe()
        return obs, state, payoff + self.noise * sign, True


def true_return(first: int, second: tuple[int, int], noise: float, gamma: float
                ) -> tuple[list[float], list[float]]:
    """Support and probabilities of the return from state 1 under joint actions (first, second)."""
    payoff = float(PAYOFF[1 + first][second[0], second[1]])
    return [gamma * (payoff - noise), gamma * (payoff + noise)], [0.5, 0.5]


def quantile_function(support: list[float], probs: list[float], omegas: Tensor) -> Tensor:
    """F⁻¹(ω) of a discrete distribution at fractions ω."""
    order = sorted(range(len(support)), key=lambda i: support[i])
    values = torch.tensor([support[i] for i in order])
    cdf = torch.cumsum(torch.tensor([probs[i] for i in order]), 0)
    idx = torch.searchsorted(cdf, omegas.contiguous(), right=False).clamp(max=len(values) - 1)
    return values[idx]


def wasserstein1(learned: Tensor, support: list[float], probs: list[float], omegas: Tensor) -> float:
    """1-Wasserstein distance ∫|F̂⁻¹(ω) − F⁻¹(ω)| dω on a uniform grid of midpoints ω."""
    return float((learned - quantile_function(support, probs, omegas)).abs().mean())
