"""`genarena bench images`: FID against training time on MNIST-5k for four GAN losses and the VAE.

Every method trains from its preset (same data, same evaluation, one seed), evaluating every
`EVAL_EVERY` steps; the clock counts training only. Results: images.json, images.md and a plot.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from genarena.bench.common import Launch, machine_info, peak_rss_mb, train_all, write_results
from genarena.checkpoint import atomic_write_bytes
from genarena.report.plots import lines_png

METHODS = ("mnist5k-nsgan", "mnist5k-lsgan", "mnist5k-hinge", "mnist5k-wgan-gp", "mnist5k-vae")
EVAL_EVERY = 500
COLUMNS = ("fid", "fid_logits", "inception_score", "tvd", "precision", "recall", "coverage")


def run(out: Path, quick: bool = False, runs_root: Path = Path("runs/bench/images"),
        extra: dict[str, Any] | None = None, launch: Launch = Launch()) -> list[Path]:
    """Train every method (fresh runs, in parallel through the run scheduler, one torch thread
    each), then write the table, the FID-vs-time curves and the raw numbers."""
    overrides: dict[str, Any] = {"eval.interval": EVAL_EVERY}
    if quick:
        overrides = {"steps": 10, "eval.interval": 5, "eval.n_samples": 100}
    overrides.update(extra or {})
    rows, curves, features = [], {}, ""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs = train_all([(preset, runs_root / f"{preset}{'-quick' if quick else ''}-{stamp}", overrides)
                      for preset in METHODS], launch)
    for preset, r in zip(METHODS, runs):
        s = r.summary
        features = s["metrics"].get("features", features)
        evals = [row for row in r.dir.read_metrics() if "eval" in row]
        curves[preset] = [(e["elapsed"], e["eval"]["fid"]) for e in evals] + \
                         [(s["train_seconds"], s["metrics"]["fid"])]
        rows.append({"method": preset, "steps": s["steps"], "train_seconds": s["train_seconds"],
                     **{k: s["metrics"].get(k) for k in COLUMNS}, "run": str(r.path)})
    machine = machine_info()
    result = {"suite": "images",
              "command": "genarena bench images" + (" --quick" if quick else ""),
              "machine": machine, "dataset": "mnist5k", "seed": 0,
              "features": features, "rows": rows,
              "fid_vs_seconds": curves, "peak_rss_mb": peak_rss_mb()}
    table = ["| method | steps | train s | FID | FID (logits) | IS | TVD | precision | recall | coverage |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['method']} | {r['steps']} | {r['train_seconds']:.0f} | " +
                     " | ".join(_fmt(r[k]) for k in COLUMNS) + " |")
    written = [plot_fid_vs_time(curves, out / "images_fid_vs_time.png",
                                machine["cores"])]
    notes = ["FID on the 128-d features of the MNIST-5k LeNet (named in the JSON), 5 000 generated "
             "samples vs the 500-image test split; lower is better. One seed per method; the "
             "clock counts training only, one torch thread per run (runs share the cores). "
             f"Curves: images_fid_vs_time.png (evaluated every {EVAL_EVERY} steps).",
             f"Peak RSS: {result['peak_rss_mb']:.0f} MB."]
    return write_results(out, "images", result, "FID vs training time on MNIST-5k", table, notes) \
        + written


def plot_fid_vs_time(curves: dict[str, list[tuple[float, float]]], path: Path,
                     cores: int) -> Path:
    """All methods' FID against training seconds on one plot (on this many cores)."""
    atomic_write_bytes(path, lines_png(curves, f"training seconds ({cores} cores)",
                                       "FID (lower is better)", "MNIST-5k: FID vs training time"))
    return path


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)
