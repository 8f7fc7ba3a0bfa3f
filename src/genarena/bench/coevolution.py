"""`genarena bench coevolution` (docs/arena.md): seconds per generation against grid size for each
backend, bytes moved per generation, and the Mustangs reproduction table (docs/coevolution.md)."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Callable

from genarena.bench.common import Launch, machine_info, peak_rss_mb, runs_folder, train_all, write_results
from genarena.control.multiagent import cell_knobs
from genarena.stats import mean_sd

METHODS = (("GAN-BCE", "mnist5k-gan-bce"), ("E-GAN", "mnist5k-egan"),
           ("Lip-BCE", "mnist5k-lip-bce"), ("Lip-MSE", "mnist5k-lip-mse"),
           ("Lip-HEU", "mnist5k-lip-heu"), ("Mustangs", "mnist5k-mustangs"))
PAPER_FID = {"GAN-BCE": 457.7, "E-GAN": 466.1, "Lip-BCE": 49.0, "Lip-MSE": 371.6,
             "Lip-HEU": 52.5, "Mustangs": 42.2}
TABLE_METRICS = ("fid", "fid_logits", "tvd", "classes_covered")
# Does a multi-agent controller help Mustangs? (docs/dfac.md): same grid, data and budget
CONTROLLERS = (("Mustangs, no controller", "grid25-mustangs-static"),
               ("independent DQN balancer per cell", "grid25-mustangs-dqn"),
               ("DFAC team (DMIX)", "grid25-mustangs-dfac"))
# --quick smoke runs keep their tiny grids in one process (worker start-up would dominate)
SMOKE_BACKEND = {"backend.name": "sequential"}
CONTROL_METRICS = ("modes_captured", "high_quality_fraction", "reverse_kl", "swd")


def reproduction_table(root: Path, seeds: list[int], quick: bool,
                       launch: Launch) -> tuple[list[str], dict[str, Any]]:
    over: dict[str, Any] = {"steps": 6, "coevolution.batches_per_gen": 3, "eval.n_samples": 300,
                            "coevolution.score_samples": 100, **SMOKE_BACKEND} if quick else {}
    egan_quick = {"steps": 6, "eval.n_samples": 300}
    raw = collect(root, METHODS, seeds, TABLE_METRICS, {"generator_updates": _generator_updates},
                  lambda preset: egan_quick if quick and preset.endswith("egan") else over, launch)
    table = ["| method | FID (features) | FID (logits) | TVD | classes covered | G updates per "
             "generator | train s | paper FID (logits) |", "|---|---|---|---|---|---|---|---|"]
    for name, _ in METHODS:
        r = raw[name]
        table.append(f"| {name} | {mean_sd(r['fid'], 1)} | {mean_sd(r['fid_logits'], 1)} | "
                     f"{mean_sd(r['tvd'], 3)} | {mean_sd(r['classes_covered'], 1)} | "
                     f"{int(r['generator_updates'][0])} | {statistics.fmean(r['train_seconds']):.0f} "
                     f"| {PAPER_FID[name]} |")
    means = {name: statistics.fmean(raw[name]["fid_logits"]) for name, _ in METHODS}
    return table, {"seeds": seeds, "raw": raw, "mean_fid_logits": means, "order": order_checks(means)}


def collect(root: Path, methods: tuple[tuple[str, str], ...], seeds: list[int],
            metrics: tuple[str, ...], extras: dict[str, Callable[[Any], float]],
            overrides: Callable[[str], dict[str, Any]], launch: Launch
            ) -> dict[str, dict[str, list[float]]]:
    """Per method and seed: train (or reuse) the preset's run, all through the run scheduler,
    then its summary metrics (NaN where undefined, e.g. the reverse KL of a run that hit no
    mode), its training time and each `extras` value of the run."""
    plan = [(name, preset, seed) for name, preset in methods for seed in seeds]
    runs = train_all([(preset, root / f"{preset}-s{seed}", {**overrides(preset), "seed": seed})
                      for _, preset, seed in plan], launch)
    raw: dict[str, dict[str, list[float]]] = {
        name: {k: [] for k in (*metrics, "train_seconds", *extras)} for name, _ in methods}
    for (name, _, _), run in zip(plan, runs):
        for k in metrics:
            value = run.summary["metrics"][k]
            raw[name][k].append(float("nan") if value is None else float(value))
        raw[name]["train_seconds"].append(run.summary["train_seconds"])
        for k, fn in extras.items():
            raw[name][k].append(fn(run))
    return raw


def _mean_d_steps(run: Any) -> float:
    """The D steps per G step the cells ended with, averaged over the grid."""
    return statistics.fmean(cell_knobs(c).d_steps for c in run.summary["cells"])


def controller_table(root: Path, seeds: list[int], quick: bool,
                     launch: Launch) -> tuple[list[str], dict[str, Any]]:
    """Plain Mustangs vs per-cell DQN balancers vs the DFAC team, same budget, over seeds."""
    over: dict[str, Any] = {"steps": 30, "coevolution.rows": 2, "coevolution.cols": 2,
                            "eval.n_samples": 300, "coevolution.score_samples": 100,
                            "controller.batch": 2, **SMOKE_BACKEND} if quick else {}
    raw = collect(root, CONTROLLERS, seeds, CONTROL_METRICS, {"d_steps_mean": _mean_d_steps},
                  lambda preset: over, launch)
    table = ["| knobs set by | modes (of 25) | high-quality fraction | reverse KL | SWD | "
             "final D steps (mean over cells) | train s |", "|---|---|---|---|---|---|---|"]
    for name, _ in CONTROLLERS:
        r = raw[name]
        table.append(f"| {name} | {mean_sd(r['modes_captured'], 1)} | "
                     f"{mean_sd(r['high_quality_fraction'], 3)} | {mean_sd(r['reverse_kl'], 2)} | "
                     f"{mean_sd(r['swd'], 2)} | {mean_sd(r['d_steps_mean'], 1)} | "
                     f"{statistics.fmean(r['train_seconds']):.0f} |")
    return table, {"seeds": seeds, "raw": raw}


def _generator_updates(run: Any) -> float:
    """Updates each generator network received (a grid cell's G, the pair's G, E-GAN's parent):
    the `steps` budget, which counts generator updates for every trainer."""
    return float(run.config.steps)


def order_checks(fid: dict[str, float]) -> dict[str, bool]:
    """The claims of docs/coevolution.md, each true or false for these mean fid_logits (lower is better)."""
    grid = ("Lip-BCE", "Lip-MSE", "Lip-HEU", "Mustangs")
    return {
        "populations beat GAN-BCE and E-GAN": all(fid[g] < min(fid["GAN-BCE"], fid["E-GAN"])
                                                  for g in ("Lip-BCE", "Lip-HEU", "Mustangs")),
        "Mustangs at least as good as Lip-BCE": fid["Mustangs"] <= fid["Lip-BCE"],
        "Lip-MSE worst of the grid methods": fid["Lip-MSE"] == max(fid[g] for g in grid),
    }


def run(out: Path, quick: bool = False, runs_root: Path | None = None,
        launch: Launch = Launch()) -> list[Path]:
    """The Mustangs reproduction table and the controllers table; coevolution.json / .md
    (seconds per generation by grid and backend: `genarena bench scale`)."""
    runs_root = runs_root or runs_folder("coevolution", quick)
    seeds = [0] if quick else [0, 1, 2]
    repro, repro_raw = reproduction_table(runs_root, seeds, quick, launch)
    control, control_raw = controller_table(runs_root, seeds, quick, launch)
    result = {"suite": "coevolution",
              "command": "genarena bench coevolution" + (" --quick" if quick else ""),
              "machine": machine_info(), "reproduction": repro_raw,
              "controllers": control_raw, "peak_rss_mb": peak_rss_mb()}
    checks = "; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in repro_raw["order"].items())
    table = (["## Mustangs reproduction on mnist5k", "",
              f"Seeds {seeds}, mean ± sd; presets mnist5k-{{gan-bce,egan,lip-bce,lip-mse,lip-heu,"
              "mustangs}; every generator network gets the same number of updates "
              + ("(--quick smoke run: 6, and 300 evaluation samples; not comparable with "
                 "anything)" if quick else "(1 500)") + "; metrics on "
              "5 000 samples against the test split, on the MNIST-5k LeNet (FID (logits) is the "
              "paper's classifier-FID).", ""] + repro + ["", f"The paper's order: {checks}.",
              "", "## Does a multi-agent controller help? (grid25)", "",
              f"Seeds {seeds}, mean ± sd; presets grid25-mustangs-{{static,dqn,dfac}}: "
              + ("(--quick smoke run: a 2×2 grid, 3 generations of 10 batches, 300 evaluation "
                 "samples; not comparable with anything) " if quick else
                 "a 3×3 Mustangs grid, 200 generations of 10 batches (2 000 updates per generator "
                 "for every row); ") + "the controllers decide every generation for every cell "
              "(learning-rate factors and D steps; docs/dfac.md). The team reward is the improvement of the "
              "grid's best mixture SWD. Metrics on 2 500 samples.", ""] + control)
    notes = [f"Peak RSS: {result['peak_rss_mb']:.0f} MB. Seconds per generation by grid size "
             "and backend: benchmarks/results/scale.md."]
    return write_results(out, "coevolution", result, "Spatial coevolution", table, notes)
