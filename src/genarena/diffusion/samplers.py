"""Reverse-time samplers over a score function s(x, t) (docs/diffusion.md).

`em`: Euler–Maruyama on the reverse SDE. `pc`: reverse-diffusion predictor + Langevin corrector
(signal-to-noise ratio `snr`). `ode`: the probability-flow ODE with Heun steps. `ddpm`: ancestral
sampling of the discrete DDPM chain, respaced to the requested number of steps.
NFE counts score evaluations: em = N, pc = 2N (one corrector step), ode = 2N − 1, ddpm = N.
"""
from __future__ import annotations

import logging
import time
from types import MappingProxyType
from typing import Callable, Mapping

import torch
from torch import Tensor

from genarena.diffusion.sde import DDPM, SDE, _bcast
from genarena.errors import UserError

log = logging.getLogger(__name__)
ScoreFn = Callable[[Tensor, Tensor], Tensor]


def _times(sde: SDE, n: int) -> Tensor:
    return torch.linspace(1.0, sde.t_min, n + 1)


def _full(t: Tensor, x: Tensor) -> Tensor:
    """A time value repeated for every sample of x, on x's device."""
    return t.expand(len(x)).to(x.device, torch.float32)


def _noise(x: Tensor, rng: torch.Generator) -> Tensor:
    """Standard normal noise shaped like x, drawn on the CPU generator, placed on x's device."""
    return torch.randn(x.shape, generator=rng).to(x.device)


def euler_maruyama(sde: SDE, score: ScoreFn, x: Tensor, nfe: int, rng: torch.Generator) -> Tensor:
    ts = _times(sde, nfe)
    mean = x
    for t, t_next in zip(ts[:-1], ts[1:]):
        tt = _full(t, x)
        f, g = sde.sde(x, tt)
        dt = float(t - t_next)
        g = _bcast(g, x)
        mean = x - (f - g ** 2 * score(x, tt)) * dt
        x = mean + g * dt ** 0.5 * _noise(x, rng)
    return mean


def predictor_corrector(sde: SDE, score: ScoreFn, x: Tensor, nfe: int, rng: torch.Generator,
                        snr: float = 0.16) -> Tensor:
    steps = max(1, nfe // 2)
    ts = _times(sde, steps)
    mean = x
    for t, t_next in zip(ts[:-1], ts[1:]):
        tt = _full(t, x)
        # corrector: one Langevin step at the current noise level
        grad = score(x, tt)
        noise = _noise(x, rng)
        grad_norm = grad.flatten(1).norm(dim=1).mean()
        noise_norm = noise.flatten(1).norm(dim=1).mean()
        alpha = _bcast(sde.langevin_alpha(tt, steps), x)
        step = 2 * alpha * (snr * noise_norm / grad_norm.clamp_min(1e-12)) ** 2
        x = x + step * grad + (2 * step).sqrt() * noise
        # predictor: reverse diffusion from t to t_next
        f, g = sde.reverse_step(x, tt, _full(t_next, x))
        mean = x - f + g ** 2 * score(x, tt)
        x = mean + g * _noise(x, rng)
    return mean


def probability_flow(sde: SDE, score: ScoreFn, x: Tensor, nfe: int, rng: torch.Generator) -> Tensor:
    steps = max(1, (nfe + 1) // 2)
    ts = _times(sde, steps)

    def velocity(x: Tensor, t: Tensor) -> Tensor:
        tt = _full(t, x)
        f, g = sde.sde(x, tt)
        return f - 0.5 * _bcast(g, x) ** 2 * score(x, tt)

    for i, (t, t_next) in enumerate(zip(ts[:-1], ts[1:])):
        dt = t_next - t                                  # negative: integrating toward the data
        v = velocity(x, t)
        x_euler = x + v * dt
        if i == len(ts) - 2:                             # last step: Euler, so NFE = 2N − 1
            x = x_euler
        else:
            x = x + 0.5 * (v + velocity(x_euler, t_next)) * dt
    return x


def ddpm_ancestral(sde: SDE, score: ScoreFn, x: Tensor, nfe: int, rng: torch.Generator) -> Tensor:
    if not isinstance(sde, DDPM):
        raise UserError("config key 'diffusion.sampler': ddpm ancestral sampling needs "
                        "diffusion.sde=ddpm")
    steps = min(nfe, sde.timesteps)
    idx = torch.linspace(sde.timesteps - 1, 0, steps).round().long()
    ab = sde.alpha_bars[idx]
    ab_prev = torch.cat([ab[1:], torch.ones(1, dtype=ab.dtype)])
    for k in range(steps):
        t = _full(torch.tensor((idx[k].item() + 1) / sde.timesteps), x)
        a_bar, a_bar_prev = float(ab[k]), float(ab_prev[k])
        beta = 1 - a_bar / a_bar_prev                    # respaced β (equals β_i when unspaced)
        eps = -score(x, t) * (1 - a_bar) ** 0.5
        mean = (x - beta / (1 - a_bar) ** 0.5 * eps) / (1 - beta) ** 0.5
        if k < steps - 1:
            var = beta * (1 - a_bar_prev) / (1 - a_bar)
            x = mean + var ** 0.5 * _noise(x, rng)
        else:
            x = mean
    return x


def _reporting(score: ScoreFn, nfe: int, n: int, every_s: float = 10.0) -> ScoreFn:
    """The score function, logging how far sampling is every `every_s` seconds (long sampling is
    otherwise silent: thousands of samples × hundreds of U-Net passes take minutes on a CPU)."""
    if not log.isEnabledFor(logging.INFO):
        return score
    calls, last = [0], [time.monotonic()]

    def counted(x: Tensor, t: Tensor) -> Tensor:
        calls[0] += 1
        if time.monotonic() - last[0] >= every_s:
            last[0] = time.monotonic()
            log.info("sampling %d: %d of about %d score evaluations", n, calls[0], nfe)
        return score(x, t)
    return counted


def sample(name: str, sde: SDE, score: ScoreFn, shape: tuple[int, ...], nfe: int,
           rng: torch.Generator, snr: float = 0.16, device: torch.device | str = "cpu") -> Tensor:
    """Draw from the prior and integrate back to t_min with the named sampler."""
    if name not in SAMPLERS:
        raise UserError(f"config key 'diffusion.sampler': expected one of {', '.join(SAMPLERS)}, "
                        f"got {name!r}")
    score = _reporting(score, nfe, shape[0])
    x = sde.prior(shape, rng).to(device)
    return SAMPLERS[name](sde, score, x, nfe, rng, snr)


# diffusion.sampler -> (sde, score, x_T, nfe, rng, snr) -> samples (snr: pc's corrector only)
SAMPLERS: Mapping[str, Callable[[SDE, ScoreFn, Tensor, int, torch.Generator, float], Tensor]] = \
    MappingProxyType({
        "em": lambda sde, score, x, nfe, rng, snr: euler_maruyama(sde, score, x, nfe, rng),
        "pc": predictor_corrector,
        "ode": lambda sde, score, x, nfe, rng, snr: probability_flow(sde, score, x, nfe, rng),
        "ddpm": lambda sde, score, x, nfe, rng, snr: ddpm_ancestral(sde, score, x, nfe, rng),
    })
