"""The evidence studies' training updates against the machine's limit (`genarena bench throughput`).

Each workload is one update of a study's baseline, timed on one thread: milliseconds per update,
GFLOP/s (torch's FLOP counter over one update) and the share of one core's large-GEMM peak,
measured in the same run, alone and beside a second busy process (a GEMM loop on the other core,
as when two runs share the machine). `before` is the update as it was before the speed work
(PyTorch's per-parameter optimizer loop, maxout by `amax`), rebuilt here so that the ratio is
measured in one run; `after` is today's default (bit-identical to `before`); `opt-in` adds the
switch that buys speed with rounding (optim.fused; marl.fast_update for the MARL learner).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from genarena.bench.common import clock
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.nets.layers import Maxout
from genarena.rl.learner import ValueLearner
from genarena.train.base import Trainer
from genarena.trainers import get_trainer


@dataclass(frozen=True)
class Workload:
    """One study's update: a preset with overrides, and how many updates a timed round takes.
    `learner`: the MARL learner's update on a full replay (no episodes collected), not a
    trainer step. `opt_in`: the overrides of the `opt-in` variant."""
    name: str
    preset: str
    overrides: dict[str, Any]
    steps: int
    learner: bool = False
    opt_in: dict[str, Any] = field(default_factory=lambda: {"optim.fused": True})


WORKLOADS = (
    # a grid cell's nets and batch, as one pair (the cell's D and G steps are these updates)
    Workload("Lipizzaner MLP D+G step, batch 100 (a Mustangs cell's nets)", "mnist5k-bce", {
        "model.arch": "mlp", "model.z_dim": 64, "model.g_hidden": [256, 256],
        "model.d_hidden": [256, 256], "model.activation": "leaky_relu", "model.g_output": "tanh",
        "data.batch_size": 100, "optim.lr_g": 2e-4, "optim.lr_d": 2e-4,
        "trainer.ema_half_life": 0.0}, 150),
    Workload("PacGAN toy update, BatchNorm G, maxout D, batch 100", "grid25-paper-gan", {}, 150),
    Workload("PacGAN4 toy update (packing 4), batch 100 packs", "grid25-paper-pacgan4", {}, 100),
    Workload("stacked-MNIST DCGAN update (2 G steps), batch 64", "stacked-mnist5k-paper-dcgan",
             {}, 6),
    # EPyMARL's LBF protocol: 32 episodes of up to 50 steps, 3 agents, one GRU shared by them
    Workload("QMIX learner update on LBF, 32 episodes (GRU 64)", "marl-lbf-10x10-3p-3f-qmix-paper",
             {"marl.fast_update": False}, 10, learner=True, opt_in={"marl.fast_update": True}),
    Workload("DMIX learner update on LBF, 32 episodes (GRU 64)", "marl-lbf-10x10-3p-3f-dmix-paper",
             {"marl.fast_update": False}, 4, learner=True, opt_in={"marl.fast_update": True}),
)
VARIANTS = ("before", "after", "opt-in")


class AmaxMaxout(Maxout):
    """Maxout as it was before the speed work (amax: its backward compares every piece)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.view(x.shape[0], -1, self.pieces).amax(-1)


def _holders(trainer: Trainer) -> list[Any]:
    """The trainer and the value learners it holds: whatever owns optimizers and nets."""
    return [trainer, *(v for v in vars(trainer).values() if isinstance(v, ValueLearner))]


def as_before(trainer: Trainer) -> None:
    """The update of the code before the speed work, from the same state: per-parameter
    optimizer loops and amax maxout (the same arithmetic, the old dispatch)."""
    for holder in _holders(trainer):
        for value in vars(holder).values():
            if isinstance(value, torch.optim.Optimizer):
                for group in value.param_groups:
                    group["foreach"] = False
            elif isinstance(value, nn.Module):
                for module in value.modules():
                    if type(module) is Maxout:
                        module.__class__ = AmaxMaxout


def timed_update(trainer: Trainer, workload: Workload) -> Callable[[], Any]:
    """What one update of the workload is: a trainer step, or (`learner`) the MARL learner's
    update, once its replay holds a batch of episodes."""
    if not workload.learner:
        return trainer.train_step
    learner = getattr(trainer, "learner")
    while len(learner.replay) < learner.settings.batch:
        trainer.train_step()
    return learner.learn


def build(workload: Workload, variant: str) -> tuple[Trainer, Callable[[], Any]]:
    """The workload's trainer on the CPU, seeded, in the variant's form, and its update."""
    over = {**workload.overrides, **(workload.opt_in if variant == "opt-in" else {})}
    cfg = load_config(workload.preset, over)
    torch.manual_seed(0)
    dataset = None if workload.learner else build_dataset(cfg.data)
    trainer = get_trainer(cfg.trainer.name).build(cfg, dataset, torch.device("cpu"))
    update = timed_update(trainer, workload)
    if variant == "before":
        as_before(trainer)
    return trainer, update


def flops_per_update(update: Callable[[], Any]) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        update()
    return int(counter.get_total_flops())


def ms_per_update(update: Callable[[], Any], steps: int) -> float:
    update()
    start = clock(torch.device("cpu"))
    for _ in range(steps):
        update()
    return 1000 * (clock(torch.device("cpu")) - start) / steps


def busy_neighbour() -> subprocess.Popen:
    """A second process keeping the other core busy with one-thread GEMMs until killed."""
    code = ("import torch\ntorch.set_num_threads(1)\na = torch.randn(512, 512)\n"
            "while True:\n    a @ a\n")
    return subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(workloads: tuple[Workload, ...], rounds: int, peak: float,
            scale: Callable[[Workload], int] = lambda w: w.steps) -> list[dict[str, Any]]:
    """Each workload's ms per update by variant, alone and beside a busy process (median of
    `rounds` rounds, the variants alternating inside a round), with its GFLOP/s and share of
    `peak` (one core's FLOP/s)."""
    rows = []
    for workload in workloads:
        updates = {v: build(workload, v)[1] for v in VARIANTS}
        flops = flops_per_update(updates["after"])
        row: dict[str, Any] = {"workload": workload.name, "preset": workload.preset,
                               "opt_in": workload.opt_in,
                               "flops_per_update": flops, "steps_per_round": scale(workload)}
        for neighbour in ("alone", "beside a busy process"):
            other = busy_neighbour() if neighbour != "alone" else None
            try:
                times: dict[str, list[float]] = {v: [] for v in VARIANTS}
                for _ in range(rounds):
                    for v in VARIANTS:
                        times[v].append(ms_per_update(updates[v], scale(workload)))
            finally:
                if other is not None:
                    other.kill()
                    other.wait()
            row[neighbour] = {v: {"ms": statistics.median(t), "rounds_ms": t,
                                  "gflops": flops / statistics.median(t) / 1e6,
                                  "share_of_peak": flops / statistics.median(t) * 1000 / peak}
                              for v, t in times.items()}
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The markdown rows: one per workload and neighbour."""
    lines = ["| workload | beside | GFLOP per update | before ms | after ms | after ÷ before | "
             "after GFLOP/s | after share of peak | opt-in | opt-in ms | opt-in share of peak |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for neighbour in ("alone", "beside a busy process"):
            m = r[neighbour]
            lines.append(
                f"| {r['workload']} | {'nothing' if neighbour == 'alone' else 'a busy process'} | "
                f"{r['flops_per_update'] / 1e9:.3f} | {m['before']['ms']:.2f} | "
                f"{m['after']['ms']:.2f} | {m['after']['ms'] / m['before']['ms']:.3f} | "
                f"{m['after']['gflops']:.1f} | {100 * m['after']['share_of_peak']:.0f}% | "
                f"{', '.join(r['opt_in'])} | {m['opt-in']['ms']:.2f} | "
                f"{100 * m['opt-in']['share_of_peak']:.0f}% |")
    return lines
