"""Value-factorisation mixers (docs/dfac.md): how per-agent utilities make the joint return.

A mixer maps the agents' utilities of their chosen actions, z (B, N, K) — N quantile fractions
shared by all K agents — and the global state s (B, S) to joint values (B, N):
- VDN:  Q_jt = Σ_k Q_k                       (expected-value agents, N = 1)
- QMIX: Q_jt = f_s(Q_1..Q_K), f monotone in every Q_k through non-negative hypernetwork weights
- DDN:  F⁻¹_jt(ω) = Σ_k F⁻¹_k(ω)
- DMIX: F⁻¹_jt(ω) = QMIX(Q_1..Q_K; s) + Σ_k (F⁻¹_k(ω) − Q_k),  Q_k the mean of agent k's quantiles
Independent learners (IQL, DIQL) have no mixer: each agent is its own "joint" value.
Every mixer is non-decreasing in each utility, so greedy per-agent actions maximise the joint
expectation (IGM / DIGM).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn


class SumMixer(nn.Module):
    """VDN on expected values, DDN on quantiles: the joint value is the sum of the agents'."""

    def forward(self, z: Tensor, state: Tensor) -> Tensor:
        return z.sum(-1)


def _hypernet(state_dim: int, out: int, hyper_embed: int) -> nn.Module:
    """A hypernetwork from the state: one linear layer (QMIX paper), or two with a ReLU
    between (`hyper_embed` > 0: PyMARL/EPyMARL's hypernet_layers=2)."""
    if hyper_embed <= 0:
        return nn.Linear(state_dim, out)
    return nn.Sequential(nn.Linear(state_dim, hyper_embed), nn.ReLU(), nn.Linear(hyper_embed, out))


class QMixer(nn.Module):
    """QMIX: a two-layer mixing net whose weights hypernetworks produce from the state, kept
    non-negative (absolute value) so the joint value is monotone in every agent's value."""

    def __init__(self, n_agents: int, state_dim: int, embed: int = 32,
                 hyper_embed: int = 0) -> None:
        super().__init__()
        self.n_agents, self.embed = n_agents, embed
        self.w1 = _hypernet(state_dim, n_agents * embed, hyper_embed)
        self.b1 = nn.Linear(state_dim, embed)
        self.w2 = _hypernet(state_dim, embed, hyper_embed)
        self.b2 = nn.Sequential(nn.Linear(state_dim, embed), nn.ReLU(), nn.Linear(embed, 1))

    def forward(self, z: Tensor, state: Tensor) -> Tensor:
        """z (B, N, K) -> (B, N): every quantile slice mixed by the same state-dependent net."""
        b = len(z)
        w1 = self.w1(state).abs().view(b, 1, self.n_agents, self.embed)
        hidden = nn.functional.elu((z[..., None, :] @ w1)[..., 0, :] + self.b1(state)[:, None])
        w2 = self.w2(state).abs()[:, None, :, None]                       # (B, 1, E, 1)
        return (hidden[..., None, :] @ w2)[..., 0, 0] + self.b2(state)


class DMixer(nn.Module):
    """DMIX: QMIX of the agents' means, plus the sum of their zero-mean shapes (mean-shape
    decomposition), so the joint mean is exactly the QMIX head."""

    def __init__(self, n_agents: int, state_dim: int, embed: int = 32,
                 hyper_embed: int = 0) -> None:
        super().__init__()
        self.qmix = QMixer(n_agents, state_dim, embed, hyper_embed)

    def forward(self, z: Tensor, state: Tensor) -> Tensor:
        q = z.mean(1, keepdim=True)                                       # (B, 1, K)
        return self.qmix(q, state) + (z - q).sum(-1)


@dataclass(frozen=True)
class MixerSpec:
    """What a factorisation method is: its mixer (None: independent) and agent kind."""
    name: str
    distributional: bool
    mixer: str | None


METHODS = {m.name: m for m in (
    MixerSpec("iql", False, None), MixerSpec("vdn", False, "sum"), MixerSpec("qmix", False, "qmix"),
    MixerSpec("diql", True, None), MixerSpec("ddn", True, "sum"), MixerSpec("dmix", True, "dmix"))}


def build_mixer(spec: MixerSpec, n_agents: int, state_dim: int, embed: int,
                hyper_embed: int = 0) -> nn.Module | None:
    """The mixing module of a method (None for independent learners)."""
    if spec.mixer == "sum":
        return SumMixer()
    if spec.mixer == "qmix":
        return QMixer(n_agents, state_dim, embed, hyper_embed)
    if spec.mixer == "dmix":
        return DMixer(n_agents, state_dim, embed, hyper_embed)
    return None

