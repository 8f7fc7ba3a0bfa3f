"""The diffusion trainer (trainer=diffusion): the score net by DSM, then (optionally) the
noise-conditional classifier by ce / dlsm / total against the frozen score net (docs/diffusion.md).

`steps` updates of the score net (skipped when guidance.score_run names a trained one), then
`guidance.classifier_steps` updates of the classifier. Under trainer.amp the score net's forward
is autocast; the classifier phase stays in fp32 (DLSM differentiates twice, as R1 does). The
shared loop (and the progress bar) counts both phases in one step counter; `updates()` reports
them apart for summary.json.
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
from genarena.scalars import Stats, statistic
from genarena.train.base import ModelTrainer
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


class DiffusionTrainer(ModelTrainer):
    """Owns the score net (+EMA), the classifier, their optimizers, the SDE and the data streams
    (one, unless the classifier's batch size differs from the score net's). The knobs' lr_g is
    the score net's learning rate; the classifier's (optim.lr_d) is `classifier_lr`."""

    net_name = "score"

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device) -> None:
        super().__init__(cfg, dataset, device,
                         Knobs(lr_g=cfg.optim.lr_g, lr_d=cfg.optim.lr_d, d_steps=1))
        self.sde = make_sde(cfg, dataset)
        self.net = build_score_net(cfg.model, dataset).to(device)
        self.score_steps = cfg.score_net_steps()
        if cfg.guidance.score_run:
            self.net.load_state_dict(_load_score_run(cfg.guidance.score_run, cfg, dataset))
        self.opt = make_optimizer(cfg.optim, self.net.parameters(), self.knobs.lr_g)
        self.track_ema(self.net)
        self.classifier: nn.Module | None = None
        self.opt_clf: torch.optim.Optimizer | None = None
        self.classifier_lr = cfg.optim.lr_d
        if cfg.guidance.classifier != "none":
            self.classifier = build_classifier(cfg, dataset, self.sde.noise_std).to(device)
            self.opt_clf = make_optimizer(cfg.optim, self.classifier.parameters(),
                                          self.classifier_lr)
        clf_batch = cfg.guidance.batch_size
        self.clf_stream = (dataset.stream(clf_batch, seed=cfg.seed,
                                          pin_memory=device.type == "cuda")
                           if self.classifier is not None and clf_batch not in (0, cfg.data.batch_size)
                           else self.stream)

    def updates(self) -> dict[str, int]:
        """Score-net (the generator's) and classifier updates made so far."""
        out = {"generator": min(self.step, self.score_steps)}
        if self.classifier is not None:
            out["classifier"] = max(0, self.step - self.score_steps)
        return out

    @property
    def score_net(self) -> nn.Module:
        """The score net that samples and that the classifier is trained against (EMA if any)."""
        return self.sampled(self.net)

    def train_step(self) -> Stats:
        score_phase = self.step < self.score_steps
        x, y = (self.stream if score_phase else self.clf_stream).next()
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        if score_phase:
            self.net.train()
            with self.precision.autocast():             # the score net's forward (trainer.amp)
                loss = dsm_loss(self.net, self.sde, x, self.noise).float()
            self._update(self.opt, loss, self.net)
            if self.ema is not None:
                self.ema.update(self.net)
            stats: Stats = {"loss_dsm": statistic(loss)}
        else:
            assert self.classifier is not None and self.opt_clf is not None
            self.classifier.train()
            self.score_net.eval()
            g = self.cfg.guidance
            decay = lr_factor(g.lr_decay, self.step - self.score_steps, g.classifier_steps)
            set_lr(self.opt_clf, self.classifier_lr * decay)
            loss, stats = classifier_loss(g.classifier, self.classifier,
                                          score_fn(self.score_net, self.sde), self.sde, x, y,
                                          self.noise, g.ce_weight, g.weight_power,
                                          g.dlsm_reduction)
            self._update(self.opt_clf, loss, self.classifier)
        self.step += 1
        return stats

    def _update(self, opt: torch.optim.Optimizer, loss: Tensor, module: nn.Module) -> None:
        optimizer_step(opt, loss, module, self.cfg.trainer.grad_clip, self.precision.scaler)

    def back_off(self, factor: float) -> None:
        self.classifier_lr *= factor
        super().back_off(factor)

    def apply_knobs(self) -> None:
        set_lr(self.opt, self.knobs.lr_g)
        if self.opt_clf is not None:
            set_lr(self.opt_clf, self.classifier_lr)

    def knob_log(self) -> dict[str, float]:
        return {"lr": self.knobs.lr_g, **({"lr_clf": self.classifier_lr} if self.classifier else {})}

    def describe_evaluation(self) -> str:
        d = self.cfg.diffusion
        return (f"{super().describe_evaluation()}, each {d.nfe} score evaluations of the "
                f"{d.sampler} sampler (diffusion.nfe)")

    def final_generative(self) -> DiffusionGenerative:
        return DiffusionGenerative(self.score_net, self.sde, self.cfg, self.dataset.sample_shape,
                                   self.classifier, self.dataset.num_classes, self.device)

    @property
    def final_model_name(self) -> str:
        name = "ema-score" if self.ema is not None else "score"
        return f"{name}+{self.cfg.guidance.classifier}-classifier" if self.classifier else name

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(), "net": self.net.state_dict(), "opt": self.opt.state_dict(),
            "classifier": self.classifier.state_dict() if self.classifier is not None else None,
            "opt_clf": self.opt_clf.state_dict() if self.opt_clf is not None else None,
            "classifier_lr": self.classifier_lr,
            "clf_stream": self.clf_stream.state_dict() if self.clf_stream is not self.stream else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        if self.classifier is not None:
            self.classifier.load_state_dict(state["classifier"])
            assert self.opt_clf is not None
            self.opt_clf.load_state_dict(state["opt_clf"])
        # checkpoints before classifier_lr kept the classifier's rate in the knobs' lr_d
        self.classifier_lr = float(state.get("classifier_lr", state["knobs"]["lr_d"]))
        if self.clf_stream is not self.stream:
            self.clf_stream.load_state_dict(state["clf_stream"])
        super().load_state_dict(state)          # last: it applies the knobs to the optimizers


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
