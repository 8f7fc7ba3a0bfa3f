"""E-GAN (docs/coevolution.md; Wang et al. 2018) as `trainer=egan`: one D, a generator that evolves.

A step is the pair trainer's D phase, then the evolution phase: from each parent, one child per
mutation (one G update with that loss: minimax, heuristic, least-squares), each scored by
fitness = quality + γ·diversity, with quality = E[sigmoid D(G(z))] and diversity =
−log ‖∇_D L_D‖² (a child that leaves D's gradient small keeps the game stable), every child on
the same real batch and latents (as the reference code does, so children differ only by
their update); the fittest `egan.parents` children (with their optimizer states) become the
next parents. The reference's γ (β there) is 1 on the toy sets and 0.001 on images (docs/coevolution.md).
"""
from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from genarena.config import Config
from genarena.data.base import Dataset
from genarena.losses import get_loss
from genarena.scalars import Stat
from genarena.train.adversarial_step import generator_step
from genarena.train.pair import PairTrainer


class EGANTrainer(PairTrainer):
    """PairTrainer whose G phase is variation (mutations) and selection (fitness)."""

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device) -> None:
        super().__init__(cfg, dataset, device)
        self.mutations = [get_loss(name) for name in cfg.egan.mutations]
        self.parents = [(copy.deepcopy(self.g.state_dict()), copy.deepcopy(self.opt_g.state_dict()))
                        for _ in range(cfg.egan.parents)]
        self.generator_updates_per_step = len(self.mutations) * cfg.egan.parents

    def fitness(self, real: torch.Tensor, z: torch.Tensor) -> tuple[float, float]:
        """(quality, diversity) of the current G against the current D on this batch; in fp32
        under trainer.amp too (a selection score, like the metrics)."""
        fake = self.g(z).detach()
        out_fake = self.d(fake)
        quality = torch.sigmoid(out_fake.detach()).mean()
        d_loss = F.softplus(-self.d(real)).mean() + F.softplus(out_fake).mean()
        grads = torch.autograd.grad(d_loss, [p for p in self.d.parameters() if p.requires_grad])
        norm = torch.sqrt(sum((g.pow(2).sum() for g in grads), torch.zeros((), device=real.device)))
        return quality.item(), -torch.log(norm.pow(2) + 1e-12).item()

    def g_phase(self) -> dict[str, Stat]:
        """Children by every mutation of every parent; the fittest become the parents."""
        gamma = self.cfg.egan.diversity_weight
        children: list[tuple[float, int, dict, dict]] = []
        losses = []
        real, z = self._real(), self._latent()          # every child is judged on these
        for parent_g, parent_opt in self.parents:
            for k, mutation in enumerate(self.mutations):
                self.g.load_state_dict(parent_g)
                # deepcopy: an optimizer adopts loaded moment tensors and updates them in place
                self.opt_g.load_state_dict(copy.deepcopy(parent_opt))
                self.apply_knobs()
                loss = generator_step(self.opt_g, self.g,
                                      lambda: mutation.g_loss(self.d(self.g(self._latent()))),
                                      (self.d,), self.cfg.trainer.grad_clip, self.precision)
                losses.append(loss.item())
                quality, diversity = self.fitness(real, z)
                children.append((quality + gamma * diversity, k,
                                 copy.deepcopy(self.g.state_dict()),
                                 copy.deepcopy(self.opt_g.state_dict())))
        children.sort(key=lambda c: -c[0])
        survivors = children[:self.cfg.egan.parents]
        self.parents = [(g, opt) for _, _, g, opt in survivors]
        self.g.load_state_dict(self.parents[0][0])
        self.opt_g.load_state_dict(copy.deepcopy(self.parents[0][1]))
        self.apply_knobs()
        stats: dict[str, Stat] = {"loss_g": sum(losses) / len(losses), "fitness": survivors[0][0]}
        for k, mutation in enumerate(self.mutations):
            stats[f"chosen_{mutation.name}"] = float(sum(c[1] == k for c in survivors)) / len(survivors)
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "parents": self.parents}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.parents = state["parents"]
