"""Closed forms for Gaussian data, where every score is exact (shared by the diffusion tests)."""
import torch

MU = torch.tensor([1.0, -2.0], dtype=torch.float64)
SIGMA = torch.tensor([[1.0, 0.5], [0.5, 0.8]], dtype=torch.float64)


def exact_score(sde, mu=MU, sigma=SIGMA):
    """∇ log p_t(x) for x₀ ~ N(μ, Σ): p_t = N(a μ, a² Σ + s² I)."""
    def score(x, t):
        a, s = sde.marginal(t.double())
        cov = a[:, None, None] ** 2 * sigma + s[:, None, None] ** 2 * torch.eye(2, dtype=torch.float64)
        diff = (x.double() - a[:, None] * mu)
        return -torch.linalg.solve(cov, diff.unsqueeze(-1)).squeeze(-1).to(x.dtype)
    return score


class ExactNoiseNet(torch.nn.Module):
    """ε̂(x, t) = −s(t)·score(x, t): the noise prediction of the exact score."""

    def __init__(self, sde):
        super().__init__()
        self.sde, self.score = sde, exact_score(sde)

    def forward(self, x, t):
        _, s = self.sde.marginal(t)
        return -s[:, None].to(x.dtype) * self.score(x, t)
