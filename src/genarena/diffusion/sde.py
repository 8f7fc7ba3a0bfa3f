"""Forward noising processes (score_sde's SDE / sampler split): x_t = a(t)·x₀ + s(t)·z.

Each SDE gives the marginal coefficients, the forward drift f(x, t) and diffusion g(t), the prior,
and the one-step reverse discretisation used by the reverse-diffusion predictor.
"""
from __future__ import annotations

import math
from types import MappingProxyType
from typing import Callable, Mapping

import torch
from torch import Tensor


def _bcast(v: Tensor, x: Tensor) -> Tensor:
    return v.reshape(-1, *([1] * (x.dim() - 1)))


class SDE:
    """Base class; t runs from t_min (data) to 1 (prior)."""

    name = "sde"
    t_min = 1e-5

    def marginal(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(a(t), s(t)) with x_t = a x₀ + s z."""
        raise NotImplementedError

    def noise_std(self, t: Tensor) -> Tensor:
        """s(t), the noise level nets may be conditioned on instead of t."""
        return self.marginal(t)[1]

    def sde(self, x: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """(f(x, t), g(t)) of dx = f dt + g dw."""
        raise NotImplementedError

    def prior(self, shape: tuple[int, ...], rng: torch.Generator) -> Tensor:
        raise NotImplementedError

    def sample_t(self, n: int, rng: torch.Generator) -> Tensor:
        """Training times, uniform on [t_min, 1]."""
        return torch.rand(n, generator=rng) * (1 - self.t_min) + self.t_min

    def perturb(self, x0: Tensor, t: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        """(x_t, s(t) broadcast to x) for given noise z."""
        a, s = self.marginal(t)
        s = _bcast(s, x0)
        return _bcast(a, x0) * x0 + s * z, s

    def reverse_step(self, x: Tensor, t: Tensor, t_next: Tensor) -> tuple[Tensor, Tensor]:
        """(f·Δt, G) of one reverse-diffusion step from t to t_next < t (Euler by default)."""
        f, g = self.sde(x, t)
        dt = _bcast(t - t_next, x)
        return f * dt, _bcast(g, x) * dt.sqrt()

    def langevin_alpha(self, t: Tensor, n_steps: int) -> Tensor:
        """α of the Langevin corrector's step size: 1 for VE; for VP score_sde's 1 − β(t)/N, taken
        as exp(−β(t)/N), equal to first order and still positive when N is small."""
        return torch.ones_like(t)


class VESDE(SDE):
    """Variance exploding: σ(t) = σ_min (σ_max/σ_min)^t, no drift (Song 2021, NCSN)."""

    name = "ve"

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0, t_min: float = 1e-5) -> None:
        self.sigma_min, self.sigma_max, self.t_min = sigma_min, sigma_max, t_min
        self.log_ratio = math.log(sigma_max / sigma_min)

    def sigma(self, t: Tensor) -> Tensor:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def t_of_sigma(self, sigma: float) -> float:
        """The time at which the marginal standard deviation is `sigma`."""
        return math.log(sigma / self.sigma_min) / self.log_ratio

    def marginal(self, t: Tensor) -> tuple[Tensor, Tensor]:
        return torch.ones_like(t), self.sigma(t)

    def sde(self, x: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        return torch.zeros_like(x), self.sigma(t) * math.sqrt(2 * self.log_ratio)

    def prior(self, shape: tuple[int, ...], rng: torch.Generator) -> Tensor:
        return torch.randn(shape, generator=rng) * self.sigma_max

    def reverse_step(self, x: Tensor, t: Tensor, t_next: Tensor) -> tuple[Tensor, Tensor]:
        """Exact for VE: no drift, G = sqrt(σ(t)² − σ(t_next)²) (the NCSN ancestral step)."""
        g = (self.sigma(t) ** 2 - self.sigma(t_next) ** 2).clamp_min(0).sqrt()
        return torch.zeros_like(x), _bcast(g, x)


class VPSDE(SDE):
    """Variance preserving: β(t) = β_min + t (β_max − β_min) (Song 2021; continuous DDPM)."""

    name = "vp"

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, t_min: float = 1e-3) -> None:
        self.beta_min, self.beta_max, self.t_min = beta_min, beta_max, t_min

    def beta(self, t: Tensor) -> Tensor:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def marginal(self, t: Tensor) -> tuple[Tensor, Tensor]:
        log_mean = -0.25 * t ** 2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min
        return log_mean.exp(), (1 - (2 * log_mean).exp()).clamp_min(1e-12).sqrt()

    def sde(self, x: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        b = self.beta(t)
        return -0.5 * _bcast(b, x) * x, b.sqrt()

    def prior(self, shape: tuple[int, ...], rng: torch.Generator) -> Tensor:
        return torch.randn(shape, generator=rng)

    def langevin_alpha(self, t: Tensor, n_steps: int) -> Tensor:
        return torch.exp(-self.beta(t) / n_steps)


class DDPM(VPSDE):
    """Discrete DDPM (Ho 2020): linear β from 1e-4 to 0.02 over T steps, ε-prediction.

    Step i (1..T) sits at t = i/T; its ᾱ_i = Π(1 − β_j). With T = 1000 this is the VP SDE with
    β_min = 0.1, β_max = 20, which is what the continuous samplers use for it.
    """

    name = "ddpm"

    def __init__(self, timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> None:
        super().__init__(beta_start * timesteps, beta_end * timesteps, t_min=1 / timesteps)
        self.timesteps = timesteps
        self.betas = torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)
        self.alpha_bars = torch.cumprod(1 - self.betas, 0)

    def index(self, t: Tensor) -> Tensor:
        return (t * self.timesteps).round().long().clamp(1, self.timesteps) - 1

    def marginal(self, t: Tensor) -> tuple[Tensor, Tensor]:
        # the float64 table stays on the CPU; t may live on a GPU
        ab = self.alpha_bars[self.index(t).cpu()].to(device=t.device, dtype=t.dtype)
        return ab.sqrt(), (1 - ab).sqrt()

    def sample_t(self, n: int, rng: torch.Generator) -> Tensor:
        return (torch.randint(self.timesteps, (n,), generator=rng) + 1).float() / self.timesteps


# diffusion.sde -> (sigma_min, sigma_max, beta_min, beta_max, timesteps) -> SDE
SDES: Mapping[str, Callable[[float, float, float, float, int], SDE]] = MappingProxyType({
    "ve": lambda s_min, s_max, b_min, b_max, steps: VESDE(s_min, s_max),
    "vp": lambda s_min, s_max, b_min, b_max, steps: VPSDE(b_min, b_max),
    "ddpm": lambda s_min, s_max, b_min, b_max, steps: DDPM(steps),
})


def build_sde(name: str, sigma_min: float, sigma_max: float, beta_min: float, beta_max: float,
              timesteps: int) -> SDE:
    """The SDE a `diffusion` config section names."""
    return SDES[name](sigma_min, sigma_max, beta_min, beta_max, timesteps)
