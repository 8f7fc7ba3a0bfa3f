"""The analytic Parzen oracle of the two-moons experiment (docs/diffusion.md; DLSM Table 1).

p_σ(x̃ | c) = (1/N_c) Σ_i N(x̃; x_i, σ²I) over the class's data points, so
∇ log p_σ(x̃ | c) = Σ_i w_i(x̃)(x_i − x̃)/σ² with w = softmax_i(−‖x̃ − x_i‖²/2σ²).
"""
from __future__ import annotations

import torch
from torch import Tensor

from genarena.data.base import Dataset
from genarena.diffusion.pipeline import DiffusionGenerative
from genarena.diffusion.sde import VESDE


def parzen_score(x: Tensor, points: Tensor, sigma: float) -> Tensor:
    """∇ₓ log of the σ-smoothed empirical density of `points`, at each row of x (float64)."""
    x, points = x.double(), points.double()
    d2 = torch.cdist(x, points).pow(2)
    w = torch.softmax(-d2 / (2 * sigma ** 2), dim=1)
    return (w @ points - x) / sigma ** 2


def moons_grid(n: int = 35, xlim: tuple[float, float] = (-40.0, 40.0),
               ylim: tuple[float, float] = (-25.0, 25.0)) -> Tensor:
    """The n×n evaluation grid over [-40, 40] × [-25, 25] (row-major)."""
    gx, gy = torch.meshgrid(torch.linspace(*xlim, n), torch.linspace(*ylim, n), indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], 1)


def posterior_score_error(estimate: Tensor, oracle: Tensor) -> float:
    """Mean Euclidean norm of the difference between estimated and oracle scores."""
    return float((estimate.double() - oracle.double()).norm(dim=1).mean())


def moons_posterior_errors(generative: DiffusionGenerative, dataset: Dataset,
                           sigma: float = 7.5, oracle_points: int = 5000, seed: int = 0,
                           scale: float = 1.0) -> dict[str, float]:
    """Mean posterior-score error per class (and overall) on the 35×35 grid at noise level σ.

    The estimate is s(x̃, t_σ) + α ∇ log p(c | x̃, t_σ) from the run's score net and classifier; the
    oracle is the Parzen score of `oracle_points` exact draws of class c.
    """
    from genarena.diffusion.classifier import log_likelihood_grad
    from genarena.diffusion.dsm import score_fn
    sde = generative.sde
    if not isinstance(sde, VESDE):
        raise ValueError("the posterior-score error is defined for the VE SDE")
    if generative.classifier is None or dataset.sampler is None:
        raise ValueError("the posterior-score error needs a classifier and an exact sampler")
    device = generative.device                          # the nets' device; the oracle's is the CPU
    grid = moons_grid()
    on_device = grid.to(device)
    t = torch.full((len(grid),), sde.t_of_sigma(sigma), device=device)
    x, y = dataset.sampler(2 * oracle_points, torch.Generator().manual_seed(seed))
    out: dict[str, float] = {}
    with torch.no_grad():
        prior = score_fn(generative.net, sde)(on_device, t)
    for c in range(dataset.num_classes):
        label = torch.full((len(grid),), c, dtype=torch.long, device=device)
        est = prior + scale * log_likelihood_grad(generative.classifier, on_device, t, label)
        out[f"class_{c}"] = posterior_score_error(est.cpu(), parzen_score(grid, x[y == c], sigma))
    out["mean"] = sum(out.values()) / dataset.num_classes
    return out
