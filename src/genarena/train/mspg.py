"""`trainer=mspg` (docs/mspg.md): the pair trainer with MSPG-SEN's losses and fade-in.

D phase: the adversarial loss on every scale of G's pyramid (when D is multi-scale), plus
λ_aux times the auxiliary diversity discriminator's loss on packs of m samples (D_aux reads D's
features and trains with D). G phase: the adversarial loss + λ_aux·(D_aux) + λ_fm·(feature
matching) + λ_con·(InfoNCE of (G(z), G(z+ε)) on D's features). The weights are knobs, so the
apfl / dqn / iqn controllers can move them. Works with model.arch=mspg (images) and with mlp
(the toy variant: one scale, the same losses and controllers).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from genarena.config import Config
from genarena.control import Knobs
from genarena.data.base import Dataset
from genarena.losses import feature_matching, info_nce
from genarena.nets.mspg import AuxDiversityDiscriminator, MSPGDiscriminator, fade, image_pyramid, pooled
from genarena.scalars import Stat
from genarena.train.adversarial_step import discriminator_step, generator_step
from genarena.train.optim import make_optimizer
from genarena.train.pair import PairTrainer


def grad_norm(module: nn.Module) -> float:
    """‖∇‖₂ over a module's parameters after a backward pass (0 when there are none)."""
    norms = [p.grad.detach().pow(2).sum() for p in module.parameters() if p.grad is not None]
    return math.sqrt(float(torch.stack(norms).sum())) if norms else 0.0


def diversity(fake: Tensor, real: Tensor) -> float:
    """Mean pairwise distance of fake features ÷ that of real ones (1: as diverse as the data)."""
    # in fp32: features from an autocast forward are half precision, which pdist has no kernel for
    f, r = pooled(fake).flatten(1)[:64].float(), pooled(real).flatten(1)[:64].float()
    return float(torch.pdist(f).mean() / (torch.pdist(r).mean() + 1e-8))


class MSPGTrainer(PairTrainer):
    """PairTrainer whose D and G phases add MSPG-SEN's heads and losses."""

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device) -> None:
        super().__init__(cfg, dataset, device)
        m = cfg.mspg
        self.multiscale = isinstance(self.d, MSPGDiscriminator) and cfg.model.multiscale
        feature_dim = self._feature_dim()
        self.aux = AuxDiversityDiscriminator(feature_dim, m.aux_pack).to(device) \
            if m.aux_weight > 0 else None
        # D's side of the game: D and D_aux, which trains with D in D's optimizer
        self.d_side = nn.ModuleList([self.d] + ([self.aux] if self.aux is not None else []))
        if self.aux is not None:
            self.opt_d = make_optimizer(cfg.optim, self.d_side.parameters(), cfg.optim.lr_d)
        self.knobs = Knobs(lr_g=cfg.optim.lr_g, lr_d=cfg.optim.lr_d, d_steps=cfg.trainer.d_steps,
                           weights={"aux": m.aux_weight, "fm": m.fm_weight, "con": m.con_weight})

    def trained_nets(self) -> list[nn.Module]:
        return [self.g, self.d_side]

    def _feature_dim(self) -> int:
        with torch.no_grad():
            x, _ = self.dataset.reference(2, self.cfg.seed)
            return pooled(self._features(x.to(self.device))[-1]).flatten(1).shape[1]

    # inputs at every scale ----------------------------------------------------------------
    def _progress(self) -> float:
        steps = self.cfg.mspg.progressive_steps
        return min(self.step / steps, 1.0) if steps else 1.0

    def _fake(self, z: Tensor) -> Tensor | list[Tensor]:
        """What D reads of G(z): the whole pyramid when multi-scale, else the final image."""
        pyr = self.g.pyramid(z)
        return pyr if self.multiscale else pyr[-1]

    def _real_input(self, x: Tensor) -> Tensor | list[Tensor]:
        if not self.multiscale:
            return x
        assert isinstance(self.d, MSPGDiscriminator)
        return fade(image_pyramid(x, self.d.levels), self._progress())

    def _features(self, x: Tensor | list[Tensor]) -> list[Tensor]:
        """D's features of one input or of a pyramid (which only the multi-scale D reads)."""
        if isinstance(x, list):
            assert isinstance(self.d, MSPGDiscriminator)
            return self.d.features(x)
        return self.d.features(x)

    def _contrastive_noise(self) -> Tensor:
        """ε of the contrastive pairs (G(z), G(z + ε)): drawn for the global batch and sliced like
        the latents, so N ranks use what one process would (each rank its own part)."""
        c = self.cfg
        eps = torch.randn((c.data.batch_size, c.model.z_dim), generator=self.noise)
        return self.world.shard(eps)

    # phases ------------------------------------------------------------------------------
    def d_phase(self) -> dict[str, Stat]:
        """D (and D_aux) on a real batch and a batch of detached fakes, by the shared D step:
        the loss's clipping and gradient penalty apply here as in the pair trainer (the penalty on
        D's input at every scale; clipping also bounds D_aux, which trains with D's loss)."""
        real = self._real_input(self._real())
        with torch.no_grad(), self.precision.autocast():
            fake = self._fake(self._latent())
        with self.precision.autocast():
            f_real, f_fake = self._features(real), self._features(fake)
            outputs = (self.d.classify(f_real), self.d.classify(f_fake))

        def aux_terms() -> tuple[Tensor, dict[str, Stat]]:
            if self.aux is None or self.knobs.weights["aux"] <= 0:
                return torch.zeros((), device=self.device), {}
            aux_real, aux_fake = self.aux(f_real[-1]), self.aux(f_fake[-1])
            aux_loss = self.loss.d_loss(aux_real, aux_fake)
            acc = self.loss.d_accuracy(aux_real, aux_fake)
            return self.knobs.weights["aux"] * aux_loss, {
                "loss_aux_d": aux_loss.item(), "aux_acc": (acc["d_acc_real"] + acc["d_acc_fake"]) / 2}
        stats = discriminator_step(self.rules, self.opt_d, self.d_side, self.d, real, fake,
                                   self.noise, outputs=outputs, extra=aux_terms,
                                   precision=self.precision)
        stats.update(self._grad_norm_stat("d", self.d))
        return stats

    def _grad_norm_stat(self, side: str, net: nn.Module) -> dict[str, float]:
        """{"grad_norm_<side>": ‖∇‖}, or, when an fp16 gradient scaler skipped the step because
        the gradients overflowed, {"amp_skipped_<side>": 1}: a skipped step is the scaler doing
        its work (it lowers the scale), not a divergence for the guard to roll back."""
        norm = grad_norm(net)
        if not math.isfinite(norm) and self.precision.scaler is not None:
            return {f"amp_skipped_{side}": 1.0}
        return {f"grad_norm_{side}": norm}

    def g_phase(self) -> dict[str, Stat]:
        """G through a frozen D (and D_aux), with the extra losses the knobs weigh."""
        w, m = self.knobs.weights, self.cfg.mspg
        stats: dict[str, Stat] = {}
        seen: dict[str, Tensor] = {}

        def loss_fn() -> Tensor:
            z = self._latent()
            f_fake = self._features(self._fake(z))
            adv = self.loss.g_loss(self.d.classify(f_fake))
            loss = adv
            stats["loss_g_adv"] = adv.item()
            with torch.no_grad():
                f_real = self._features(self._real_input(self._real()))
            if self.aux is not None and w["aux"] > 0:
                aux = self.loss.g_loss(self.aux(f_fake[-1]))
                loss, stats["loss_aux_g"] = loss + w["aux"] * aux, aux.item()
            if w["fm"] > 0:
                fm = feature_matching(f_real, f_fake)
                loss, stats["loss_fm"] = loss + w["fm"] * fm, fm.item()
            if w["con"] > 0:
                z2 = z + m.con_eps * self._contrastive_noise().to(z.device)
                con = info_nce(f_fake[-1], self._features(self._fake(z2))[-1], m.con_tau)
                loss, stats["loss_con"] = loss + w["con"] * con, con.item()
            seen.update(fake=f_fake[-1].detach(), real=f_real[-1])
            return loss
        loss = generator_step(self.opt_g, self.g, loss_fn, (self.d_side,),
                              self.cfg.trainer.grad_clip, self.precision)
        stats.update({"loss_g": loss.item(), **self._grad_norm_stat("g", self.g),
                      "diversity": diversity(seen["fake"], seen["real"])})
        return stats

    def train_step(self) -> dict[str, Stat]:
        self.g.set_progress(self._progress())
        stats = super().train_step()
        if self.cfg.mspg.progressive_steps:
            stats["progress"] = self._progress()
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "aux": self.aux.state_dict() if self.aux else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.aux is not None:
            self.aux.load_state_dict(state["aux"])
