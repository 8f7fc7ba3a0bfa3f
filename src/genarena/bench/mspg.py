"""`genarena bench mspg` (docs/arena.md): DEMA against SAGAN self-attention, the controllers'
overhead per training step, and the ablation table of docs/mspg.md over seeds."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from genarena.bench.common import (
    Launch,
    clock,
    machine_info,
    peak_rss_mb,
    runs_folder,
    train_all,
    write_results,
)
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.nets.mspg import DEMA, SelfAttention
from genarena.stats import mean_sd
from genarena.trainers import get_trainer

# (label, preset, overrides): each table is one budget; rows differ in one part only
GRID25_BUDGET = {"steps": 600, "data.batch_size": 256, "eval.interval": 0}
Row = tuple[str, str, dict[str, Any]]
GRID25_ROWS: tuple[Row, ...] = (
    ("MSPG-SEN losses, static", "grid25-mspg", {}),
    ("without D_aux", "grid25-mspg", {"mspg.aux_weight": 0.0}),
    ("without feature matching", "grid25-mspg", {"mspg.fm_weight": 0.0}),
    ("without contrastive", "grid25-mspg", {"mspg.con_weight": 0.0}),
    ("with APFL", "grid25-mspg-apfl", {}),
    ("with DQN balancer", "grid25-mspg-dqn", {}),
    ("with IQN balancer", "grid25-mspg-iqn", {}),
    ("plain GAN (pair, nsgan)", "grid25-nsgan", {}),
)
STACKED_BUDGET = {"steps": 150, "eval.n_samples": 5000, "eval.interval": 0}
STACKED_ROWS: tuple[Row, ...] = (
    ("full MSPG-SEN, static", "stacked-mnist5k-mspg", {}),
    ("without DEMA", "stacked-mnist5k-mspg", {"model.dema": False}),
    ("without GCTDRN (plain residual)", "stacked-mnist5k-mspg", {"model.gctdrn": False}),
    ("without D_aux", "stacked-mnist5k-mspg", {"mspg.aux_weight": 0.0}),
    ("with DQN balancer", "stacked-mnist5k-mspg-dqn", {}),
    ("plain DCGAN (pair, nsgan)", "stacked-mnist5k-gan", {"data.batch_size": 32}),
)
TOY_METRICS = ("modes_captured", "high_quality_fraction", "reverse_kl")
IMAGE_METRICS = ("modes_captured", "reverse_kl", "fid")


def _median_seconds(fn: Callable[[], Any], repeats: int, device: torch.device) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = clock(device)
        fn()
        times.append(clock(device) - start)
    return statistics.median(times)


def attention_table(quick: bool, device: torch.device = torch.device("cpu")
                    ) -> tuple[list[str], dict[str, Any]]:
    """FLOPs (forward), parameters and forward+backward time of DEMA vs SAGAN attention."""
    channels, batch = 64, 16
    raw: dict[str, dict[str, Any]] = {}
    for size in (16, 32):
        x = torch.randn(batch, channels, size, size).to(device).contiguous(
            memory_format=torch.channels_last)
        for name, module in (("DEMA", DEMA(channels).to(device)),
                             ("self-attention", SelfAttention(channels).to(device))):
            with FlopCounterMode(display=False) as counter:
                module(x)
            xg = x.clone().requires_grad_(True)

            def step(m: nn.Module = module, inp: torch.Tensor = xg) -> None:
                m(inp).square().mean().backward()
            raw[f"{name}@{size}"] = {
                "gflops_forward": counter.get_total_flops() / 1e9,
                "params": sum(p.numel() for p in module.parameters()),
                "ms_forward_backward": 1000 * _median_seconds(step, 3 if quick else 10, device)}
    table = ["| block | resolution | GFLOP (forward) | parameters | ms forward+backward |",
             "|---|---|---|---|---|"]
    for key, r in raw.items():
        name, side = key.split("@")
        table.append(f"| {name} | {side}×{side} | {r['gflops_forward']:.3f} | {r['params']} | "
                     f"{r['ms_forward_backward']:.1f} |")
    return table, {"channels": channels, "batch": batch, "results": raw}


def overhead_table(quick: bool, device: torch.device = torch.device("cpu")
                   ) -> tuple[list[str], dict[str, Any]]:
    """Seconds per training step of ring8-mspg under each controller (same run otherwise)."""
    steps = 10 if quick else 200
    raw: dict[str, float] = {}
    for name in ("static", "apfl", "dqn", "iqn"):
        cfg = load_config("ring8-mspg", {"controller.name": name, "controller.interval": 20})
        torch.manual_seed(0)
        trainer = get_trainer("mspg").build(cfg, build_dataset(cfg.data), device)
        trainer.train_step()
        start = clock(device)
        for _ in range(steps):
            trainer.train_step()
        raw[name] = (clock(device) - start) / steps
    table = ["| controller | ms per step | ÷ static |", "|---|---|---|"]
    table += [f"| {k} | {1000 * v:.2f} | {v / raw['static']:.3f} |" for k, v in raw.items()]
    return table, {"steps": steps, "interval": 20, "seconds_per_step": raw}


def ablation_table(rows: tuple, budget: dict[str, Any], metrics: tuple[str, ...], root: Path,
                   seeds: list[int], launch: Launch) -> tuple[list[str], dict[str, Any]]:
    """Every variant over the seeds, trained through the run scheduler: mean ± sd per metric."""
    plan = [(label, preset, extra, seed) for label, preset, extra in rows for seed in seeds]
    runs = train_all([(preset, root / (preset + "".join(f"-{k.split('.')[-1]}{v}"
                                                        for k, v in extra.items()) + f"-s{seed}"),
                       {**budget, **extra, "seed": seed}) for _, preset, extra, seed in plan],
                     launch)
    raw: dict[str, dict[str, list[float]]] = {
        label: {k: [] for k in (*metrics, "train_seconds")} for label, _, _ in rows}
    for (label, _, _, _), run in zip(plan, runs):
        for k in metrics:
            v = run.summary["metrics"].get(k)
            raw[label][k].append(float("nan") if v is None else float(v))
        raw[label]["train_seconds"].append(run.summary["train_seconds"])
    head = "| variant | " + " | ".join(metrics) + " | train s |"
    table = [head, "|---|" + "---|" * (len(metrics) + 1)]
    for label, _, _ in rows:
        r = raw[label]
        table.append(f"| {label} | " + " | ".join(mean_sd(r[k]) for k in metrics) +
                     f" | {statistics.fmean(r['train_seconds']):.0f} |")
    return table, {"budget": budget, "seeds": seeds, "raw": raw}


def run(out: Path, quick: bool = False, runs_root: Path | None = None,
        launch: Launch = Launch(), device: str = "cpu") -> list[Path]:
    """The three parts; results in mspg.json / mspg.md (the two timings on `device`)."""
    from genarena.api import resolve_device
    on = resolve_device(device, "--device")
    runs_root = runs_root or runs_folder("mspg", quick)
    seeds = [0] if quick else [0, 1, 2]
    attention, attention_raw = attention_table(quick, on)
    overhead, overhead_raw = overhead_table(quick, on)
    g_budget = {**GRID25_BUDGET, "steps": 30} if quick else GRID25_BUDGET
    s_budget = {**STACKED_BUDGET, "steps": 3, "eval.n_samples": 300} if quick else STACKED_BUDGET
    # quick mode checks the plumbing: the first row of each table and the one with a balancer
    g_rows = (GRID25_ROWS[0], GRID25_ROWS[5]) if quick else GRID25_ROWS
    s_rows = (STACKED_ROWS[0], STACKED_ROWS[4]) if quick else STACKED_ROWS
    grid, grid_raw = ablation_table(g_rows, g_budget, TOY_METRICS, runs_root, seeds, launch)
    stacked, stacked_raw = ablation_table(s_rows, s_budget, IMAGE_METRICS, runs_root, seeds, launch)
    result = {"suite": "mspg", "command": "genarena bench mspg" + (" --quick" if quick else "")
              + (f" --device {device}" if device != "cpu" else ""),
              "machine": machine_info(), "device": str(on), "attention": attention_raw,
              "overhead": overhead_raw,
              "grid25": grid_raw, "stacked": stacked_raw, "peak_rss_mb": peak_rss_mb()}
    table = (["## DEMA vs SAGAN self-attention (64 channels, batch 16)", ""] + attention +
             ["", "## Controller overhead (ring8-mspg, decisions every 20 steps; the balancers "
              "include their quality proxy)", ""] + overhead +
             ["", f"## Ablation on grid25 (toy MLP nets; {g_budget['steps']} steps, batch "
              f"{g_budget['data.batch_size']}, seeds {seeds}, mean ± sd)", ""] + grid +
             ["", f"## Ablation on stacked-mnist5k ({s_budget['steps']} steps, batch 32, "
              f"{s_budget['eval.n_samples']} samples for the 1 000-mode count, seeds {seeds})",
              ""] + stacked)
    notes = [f"Peak RSS: {result['peak_rss_mb']:.0f} MB."]
    return write_results(out, "mspg", result, "MSPG-SEN", table, notes)
