"""The pair trainer (docs/adversarial.md): one G against one D, with the phases of a step spelled out.

A step is `d_steps` D updates (each on a fresh real batch), lazy R1 when due, one G update, the
EMA update and, every `controller.interval` steps, a controller decision over the knobs.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from genarena.config import Config
from genarena.control import Controller, Knobs, build_controller
from genarena.data.base import Dataset
from genarena.distributed import World
from genarena.losses import get_loss
from genarena.metrics.proxy import TrainingDistance
from genarena.nets import build_gan
from genarena.scalars import Stat, Stats, statistic
from genarena.train.adversarial_step import DiscriminatorRules, discriminator_step, generator_step, r1_step
from genarena.train.base import ModelTrainer
from genarena.train.generative import LatentGenerator
from genarena.train.meter import Meter
from genarena.train.noise import sample_latent
from genarena.train.optim import make_optimizer, set_lr


class PairTrainer(ModelTrainer):
    """Owns G, D, their optimizers, EMA, knobs and controller; `train_step` runs one step."""

    ema_key = "g_ema"

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device) -> None:
        super().__init__(cfg, dataset, device, Knobs(lr_g=cfg.optim.lr_g, lr_d=cfg.optim.lr_d,
                                                     d_steps=cfg.trainer.d_steps))
        self.loss = get_loss(cfg.loss.name)
        self.rules = DiscriminatorRules.from_config(cfg, self.loss)
        self.g, self.d = build_gan(cfg.model, dataset.sample_shape, dataset.value_range)
        self.g.to(device)
        self.d.to(device)
        self.opt_g = make_optimizer(cfg.optim, self.g.parameters(), self.knobs.lr_g)
        self.opt_d = make_optimizer(cfg.optim, self.d.parameters(), self.knobs.lr_d)
        self.track_ema(self.g)
        self.controller: Controller = build_controller(cfg.controller, cfg.seed)
        self._proxy: TrainingDistance | None = None
        self.control_meter = Meter()
        self._gradient_hooks: list[RemovableHandle] = []

    def data_parallel(self, world: World) -> None:
        """Train as one rank of `world`: this rank's slice of every global batch, gradients
        averaged over the ranks (genarena.distributed)."""
        self.world = world
        for handle in self._gradient_hooks:       # of an earlier world: averaged once, not twice
            handle.remove()
        self._gradient_hooks = []
        synchronised = self.synchronised_nets() if self.device.type == "cuda" else []
        for net in self.trained_nets():
            if any(net is s for s in synchronised):
                nn.SyncBatchNorm.convert_sync_batchnorm(net)   # batch statistics of the global batch
            world.broadcast(net)
            self._gradient_hooks += world.average_gradients(net)

    def synchronised_nets(self) -> list[nn.Module]:
        """The nets whose BatchNorm takes the global batch's statistics under --nproc on CUDA:
        every trained net, except the discriminators when R1 or the gradient penalty
        differentiates through them twice (SyncBatchNorm has no double backward: there each
        rank's D normalises its own slice, as on the CPU)."""
        twice = self.cfg.loss.r1_gamma > 0 or self.rules.gp_weight > 0
        return [net for net in self.trained_nets() if net is self.g or not twice]

    def trained_nets(self) -> list[nn.Module]:
        """The nets an optimizer updates (MSPG-SEN adds its auxiliary discriminator)."""
        return [self.g, self.d]

    # phases -------------------------------------------------------------------------------------
    def _latent(self) -> Tensor:
        m = self.cfg.model
        z = sample_latent(self.cfg.data.batch_size, m.z_dim, m.z_dist, self.noise, self.device)
        return self.world.shard(z)

    def _real(self) -> Tensor:
        x, _ = self.stream.next()
        return self.world.shard(x).to(self.device, non_blocking=True)

    def d_phase(self) -> dict[str, Stat]:
        """One D update on a fresh real batch and a batch of (detached) fakes."""
        real = self._real()
        with torch.no_grad(), self.precision.autocast():
            fake = self.g(self._latent())
        return discriminator_step(self.rules, self.opt_d, self.d, self.d, real, fake, self.noise,
                                  precision=self.precision)

    def d_regularization_phase(self) -> dict[str, Stat]:
        """Lazy R1: every r1_interval steps, γ/2·‖∇D(x)‖² scaled by the interval (StyleGAN2)."""
        c = self.cfg.loss
        if c.r1_gamma <= 0 or self.step % c.r1_interval:
            return {}
        return r1_step(self.rules, self.opt_d, self.d, self.d, self._real(), c.r1_gamma,
                       c.r1_interval, self.precision)

    def g_phase(self) -> dict[str, Stat]:
        """One G update through a frozen D."""
        loss = generator_step(self.opt_g, self.g,
                              lambda: self.loss.g_loss(self.d(self.g(self._latent()))),
                              (self.d,), self.cfg.trainer.grad_clip, self.precision)
        return {"loss_g": statistic(loss)}

    def control_phase(self, stats: Stats) -> dict[str, Stat]:
        """Every controller.interval steps: the controller may change the knobs (within bounds)."""
        self.control_meter.add(stats)
        if self.step % self.controller.interval:
            return {}
        seen = self.control_meter.mean()
        if self.controller.needs_quality:
            # averaged like the statistics: ranks whose proxies differ by a rounding would choose
            # different d_steps, and their collectives would no longer line up
            seen["quality"] = float(self.world.mean({"quality": self.quality_proxy()})["quality"])
        self.knobs = self.controller.decide(seen, self.knobs)
        self.control_meter.reset()
        self.apply_knobs()
        return dict(self.controller.log())

    def simultaneous_phase(self) -> dict[str, Stat]:
        """ALI's step (trainer.update=simultaneous): one forward of a real batch and G(z), then
        D's gradient of its loss and G's of its own, both at the same point, and both steps."""
        real, z = self._real(), self._latent()
        fake = self.g(z)
        out_real, out_fake = self.d(real), self.d(fake)
        loss_d = self.loss.d_loss(out_real, out_fake)
        loss_g = self.loss.g_loss(out_fake)
        d_params = [p for p in self.d.parameters() if p.requires_grad]
        g_params = [p for p in self.g.parameters() if p.requires_grad]
        d_grads = torch.autograd.grad(loss_d, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(loss_g, g_params)
        for opt, params, grads, net in ((self.opt_d, d_params, d_grads, self.d),
                                        (self.opt_g, g_params, g_grads, self.g)):
            for p, grad in zip(params, grads):
                p.grad = grad
            if self.cfg.trainer.grad_clip > 0:
                nn.utils.clip_grad_norm_(net.parameters(), self.cfg.trainer.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
        return {"loss_d": statistic(loss_d), "loss_g": statistic(loss_g),
                **self.loss.d_accuracy(out_real.detach(), out_fake.detach())}

    def updates(self) -> dict[str, int]:
        """Generator updates (g_steps per step)."""
        return {"generator": self.step * self.cfg.trainer.g_steps}

    def train_step(self) -> dict[str, Stat]:
        """One step: its D updates, then its G updates (or one simultaneous update of both);
        returns the step's statistics."""
        stats: dict[str, Stat] = {}
        if self.cfg.trainer.update == "simultaneous":
            stats.update(self.simultaneous_phase())
        else:
            for _ in range(self.knobs.d_steps):
                stats.update(self.d_phase())
            stats.update(self.d_regularization_phase())
            for _ in range(self.cfg.trainer.g_steps):
                stats.update(self.g_phase())
        if self.ema is not None:
            self.ema.update(self.g)
        self.step += 1
        stats = self.world.mean(stats)         # every rank's controller decides on the same numbers
        stats.update(self.control_phase(stats))
        return stats

    def quality_proxy(self) -> float:
        """A cheap distance of the current model's samples to the training data (lower is
        better): FID on classifier features for labelled images, sliced Wasserstein otherwise."""
        if self._proxy is None:
            c = self.cfg
            self._proxy = TrainingDistance(self.dataset, "auto", c.controller.quality_samples,
                                           c.seed, c.eval.cache_dir, self.device)
        return self._proxy(self.final_generative())

    # knobs, sampling, state ---------------------------------------------------------------------
    def apply_knobs(self) -> None:
        set_lr(self.opt_g, self.knobs.lr_g)
        set_lr(self.opt_d, self.knobs.lr_d)

    def final_generative(self) -> LatentGenerator:
        """The EMA generator when there is one (it is what gets evaluated and sampled)."""
        return LatentGenerator(self.sampled(self.g), self.cfg.model.z_dim, self.cfg.model.z_dist,
                               self.device)

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "g": self.g.state_dict(), "d": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "controller": self.controller.state_dict(),
            "control_meter": self.control_meter.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.controller.load_state_dict(state["controller"])
        self.control_meter.load_state_dict(state["control_meter"])
        super().load_state_dict(state)          # last: it applies the knobs to the optimizers


def load_generator(cfg: Config, dataset: Dataset, state: dict[str, Any],
                   device: torch.device) -> LatentGenerator:
    """The final generator (EMA if trained with one) of a pair-trainer checkpoint."""
    g, _ = build_gan(cfg.model, dataset.sample_shape, dataset.value_range)
    g.load_state_dict(state["g_ema"] if state.get("g_ema") is not None else state["g"])
    return LatentGenerator(g.to(device).eval(), cfg.model.z_dim, cfg.model.z_dist, device)
