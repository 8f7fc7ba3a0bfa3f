"""The diffusion trainer (trainer=diffusion): the score net by DSM, then (optionally) the
noise-conditional classifier by ce / dlsm / total against the frozen score net (SPEC 6).

`steps` updates of the score net (skipped when guidance.score_run names a trained one), then
`guidance.classifier_steps` updates of the classifier. The shared loop (and the progress bar)
counts both phases in one step counter; `updates()` reports them apart for summary.json.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from genarena.checkpoint import load_checkpoint
from genarena.config import Config, load_config
from genarena.control import Knobs
from genarena.data.base import Dataset
from genarena.diffusion.classifier import classifier_loss
from genarena.diffusion.dsm import dsm_loss, score_fn
from genarena.diffusion.pipeline import DiffusionGenerative, make_sde
from genarena.errors import UserError
from genarena.nets import build_classifier, build_score_net
from genarena.train.ema import EMA
from genarena.train.optim import lr_factor, make_optimizer, optimizer_step, set_lr


def score_net_signature(cfg: Config) -> tuple[Any, ...]:
    """What a trained score net depends on: its data (batch size aside), architecture and SDE.
    Sampling, evaluation and classifier settings may differ between a score run and its reusers."""
    m, d = cfg.model, cfg.diffusion
    data = dataclasses.replace(cfg.data, batch_size=0)
    return (data, m.arch, tuple(m.g_hidden), m.width, d.sde, d.sigma_min, d.sigma_max,
            d.beta_min, d.beta_max, d.timesteps)


def _load_score_run(path: str, cfg: Config, dataset: Dataset) -> dict[str, Any]:
    run_dir = Path(path)
    try:
        other = load_config(str(run_dir / "config.yaml"))
    except UserError as exc:
        raise UserError(f"config key 'guidance.score_run': {exc}") from None
    if other.trainer.name != "diffusion" or score_net_signature(other) != score_net_signature(cfg):
        raise UserError(f"config key 'guidance.score_run': run '{path}' is not a diffusion run "
                        "with the same data, score net and SDE")
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")["trainer_state"]
    return state["ema"] if state.get("ema") is not None else state["net"]


class DiffusionTrainer:
    """Owns the score net (+EMA), the classifier, their optimizers, the SDE and the data streams
    (one, unless the classifier's batch size differs from the score net's)."""

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device) -> None:
        self.cfg, self.dataset, self.device = cfg, dataset, device
        self.sde = make_sde(cfg, dataset)
        self.net = build_score_net(cfg.model, dataset).to(device)
        self.score_steps = cfg.score_net_steps()
        if cfg.guidance.score_run:
            self.net.load_state_dict(_load_score_run(cfg.guidance.score_run, cfg, dataset))
        self.knobs = Knobs(lr_g=cfg.optim.lr_g, lr_d=cfg.optim.lr_d, d_steps=1)
        self.opt = make_optimizer(cfg.optim, self.net.parameters(), self.knobs.lr_g)
        half_life = cfg.trainer.ema_half_life
        self.ema = EMA(self.net, half_life, cfg.data.batch_size) if half_life > 0 else None
        self.classifier: nn.Module | None = None
        self.opt_clf = None
        if cfg.guidance.classifier != "none":
            self.classifier = build_classifier(cfg, dataset, self.sde.noise_std).to(device)
            self.opt_clf = make_optimizer(cfg.optim, self.classifier.parameters(), self.knobs.lr_d)
        self.total_steps = cfg.loop_steps()
        self.stream = dataset.stream(cfg.data.batch_size, seed=cfg.seed)
        clf_batch = cfg.guidance.batch_size
        self.clf_stream = (dataset.stream(clf_batch, seed=cfg.seed)
                           if self.classifier is not None and clf_batch not in (0, cfg.data.batch_size)
                           else self.stream)
        self.noise = torch.Generator().manual_seed(cfg.seed + 1)
        self.step = 0

    def updates(self) -> dict[str, int]:
        """Score-net (the generator's) and classifier updates made so far."""
        out = {"generator": min(self.step, self.score_steps)}
        if self.classifier is not None:
            out["classifier"] = max(0, self.step - self.score_steps)
        return out

    @property
    def score_net(self) -> nn.Module:
        """The score net that samples and that the classifier is trained against (EMA if any)."""
        return self.ema.model if self.ema is not None else self.net

    def train_step(self) -> dict[str, float]:
        score_phase = self.step < self.score_steps
        x, y = (self.stream if score_phase else self.clf_stream).next()
        x, y = x.to(self.device), y.to(self.device)
        if score_phase:
            self.net.train()
            loss = dsm_loss(self.net, self.sde, x, self.noise)
            self._update(self.opt, loss, self.net)
            if self.ema is not None:
                self.ema.update(self.net)
            stats = {"loss_dsm": loss.item()}
        else:
            assert self.classifier is not None and self.opt_clf is not None
            self.classifier.train()
            self.score_net.eval()
            g = self.cfg.guidance
            decay = lr_factor(g.lr_decay, self.step - self.score_steps, g.classifier_steps)
            set_lr(self.opt_clf, self.knobs.lr_d * decay)
            loss, stats = classifier_loss(g.classifier, self.classifier,
                                          score_fn(self.score_net, self.sde), self.sde, x, y,
                                          self.noise, g.ce_weight, g.weight_power,
                                          g.dlsm_reduction)
            self._update(self.opt_clf, loss, self.classifier)
        self.step += 1
        return stats

    def _update(self, opt: torch.optim.Optimizer, loss: Tensor, module: nn.Module) -> None:
        optimizer_step(opt, loss, module, self.cfg.trainer.grad_clip)

    def back_off(self, factor: float) -> None:
        self.knobs.scale_learning_rates(factor)
        self._apply_knobs()

    def _apply_knobs(self) -> None:
        set_lr(self.opt, self.knobs.lr_g)
        if self.opt_clf is not None:
            set_lr(self.opt_clf, self.knobs.lr_d)

    def close(self) -> None:
        """Nothing to release: this trainer runs in the calling process."""

    def knob_log(self) -> dict[str, float]:
        return {"lr": self.knobs.lr_g, **({"lr_clf": self.knobs.lr_d} if self.classifier else {})}

    def final_generative(self) -> DiffusionGenerative:
        return DiffusionGenerative(self.score_net, self.sde, self.cfg, self.dataset.sample_shape,
                                   self.classifier, self.dataset.num_classes, self.device)

    @property
    def final_model_name(self) -> str:
        name = "ema-score" if self.ema is not None else "score"
        return f"{name}+{self.cfg.guidance.classifier}-classifier" if self.classifier else name

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "net": self.net.state_dict(),
            "ema": self.ema.model.state_dict() if self.ema is not None else None,
            "opt": self.opt.state_dict(),
            "classifier": self.classifier.state_dict() if self.classifier is not None else None,
            "opt_clf": self.opt_clf.state_dict() if self.opt_clf is not None else None,
            "knobs": self.knobs.state_dict(), "stream": self.stream.state_dict(),
            "clf_stream": self.clf_stream.state_dict() if self.clf_stream is not self.stream else None,
            "noise": self.noise.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.net.load_state_dict(state["net"])
        if self.ema is not None:
            self.ema.model.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["opt"])
        if self.classifier is not None:
            self.classifier.load_state_dict(state["classifier"])
            assert self.opt_clf is not None
            self.opt_clf.load_state_dict(state["opt_clf"])
        self.knobs = Knobs.from_state(state["knobs"])
        self._apply_knobs()
        self.stream.load_state_dict(state["stream"])
        if self.clf_stream is not self.stream:
            self.clf_stream.load_state_dict(state["clf_stream"])
        self.noise.set_state(state["noise"])


def load_diffusion(cfg: Config, dataset: Dataset, state: dict[str, Any],
                   device: torch.device) -> DiffusionGenerative:
    """The final (EMA) score net and classifier of a checkpoint, ready to sample."""
    sde = make_sde(cfg, dataset)
    net = build_score_net(cfg.model, dataset)
    net.load_state_dict(state["ema"] if state.get("ema") is not None else state["net"])
    classifier = None
    if state.get("classifier") is not None:
        classifier = build_classifier(cfg, dataset, sde.noise_std)
        classifier.load_state_dict(state["classifier"])
        classifier = classifier.to(device).eval()
    return DiffusionGenerative(net.to(device).eval(), sde, cfg, dataset.sample_shape, classifier,
                               dataset.num_classes, device)
