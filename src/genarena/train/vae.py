"""The VAE trainer (trainer=vae): maximise the ELBO with a Gaussian decoder of fixed σ.

loss = ‖x - decoder(z)‖² / (2σ²) + β · KL(q(z|x) ‖ N(0, I)), z = μ + σ_q ε (reparameterised),
summed over dimensions and averaged over the batch. Shares the loop, EMA, knobs and checkpoints
with the adversarial trainers.
"""
from __future__ import annotations

from typing import Any

import torch

from genarena.config import Config
from genarena.control import Knobs
from genarena.data.base import Dataset
from genarena.nets import build_vae
from genarena.scalars import Stat, statistic
from genarena.train.base import ModelTrainer
from genarena.train.generative import LatentGenerator
from genarena.train.optim import make_optimizer, optimizer_step, set_lr


class VAETrainer(ModelTrainer):
    """Owns the VAE, its optimizer and EMA; `train_step` is one ELBO step on a fresh batch."""

    ema_key, net_name = "vae_ema", "vae"

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device) -> None:
        super().__init__(cfg, dataset, device,
                         Knobs(lr_g=cfg.optim.lr_g, lr_d=cfg.optim.lr_d, d_steps=1))
        self.vae = build_vae(cfg.model, dataset).to(device)
        self.opt = make_optimizer(cfg.optim, self.vae.parameters(), self.knobs.lr_g)
        self.track_ema(self.vae)

    def train_step(self) -> dict[str, Stat]:
        x, _ = self.stream.next()
        x = x.to(self.device, non_blocking=True)
        eps = torch.randn((x.shape[0], self.cfg.model.z_dim), generator=self.noise).to(self.device)
        with self.precision.autocast():                  # the forwards; the ELBO in fp32
            mu, logvar = self.vae.encode(x)
            mu, logvar = mu.float(), logvar.float()
            recon = self.vae(mu + (0.5 * logvar).exp() * eps).float()
        rec = (recon - x).pow(2).flatten(1).sum(1).mean() / (2 * self.cfg.loss.recon_std ** 2)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean()
        loss = rec + self.cfg.loss.kl_weight * kl
        optimizer_step(self.opt, loss, self.vae, self.cfg.trainer.grad_clip, self.precision.scaler)
        if self.ema is not None:
            self.ema.update(self.vae)
        self.step += 1
        return {"loss_vae": statistic(loss), "recon": statistic(rec), "kl": statistic(kl)}

    def apply_knobs(self) -> None:
        set_lr(self.opt, self.knobs.lr_g)

    def knob_log(self) -> dict[str, float]:
        return {"lr": self.knobs.lr_g}

    def final_generative(self) -> LatentGenerator:
        """Decode z ~ N(0, I) with the (EMA) VAE."""
        return LatentGenerator(self.sampled(self.vae), self.cfg.model.z_dim, "normal", self.device)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "vae": self.vae.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.vae.load_state_dict(state["vae"])
        self.opt.load_state_dict(state["opt"])
        super().load_state_dict(state)          # last: it applies the knobs to the optimizer


def load_vae(cfg: Config, dataset: Dataset, state: dict[str, Any],
             device: torch.device) -> LatentGenerator:
    """The final VAE (EMA if trained with one) of a checkpoint, decoding z ~ N(0, I)."""
    vae = build_vae(cfg.model, dataset)
    vae.load_state_dict(state["vae_ema"] if state.get("vae_ema") is not None else state["vae"])
    return LatentGenerator(vae.to(device).eval(), cfg.model.z_dim, "normal", device)
