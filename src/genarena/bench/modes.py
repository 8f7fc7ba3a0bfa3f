"""`genarena bench modes` (docs/arena.md): every method on ring8 and grid25 (stacked-mnist5k opt-in) with
equal, stated budgets over seeds, beside the published rows of docs/foundation.md; writes modes.json/.md
and the arena's leaderboard (leaderboard.md / leaderboard.html)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from genarena.bench.common import (
    Launch,
    machine_info,
    peak_rss_mb,
    records_beside,
    runs_folder,
    write_results,
)
from genarena.report import leaderboard
from genarena.sweep import Job, run_jobs

# (method, preset suffix): the preset is "<dataset>-<suffix>"; every method's presets exist for
# both toy mixtures. Budget: 2 000 updates of every generator network (a grid cell's, the
# pair's, E-GAN's parent, the VAE's decoder, the score net).
TOY_METHODS = (
    ("GAN (minimax)", "bce"), ("NS-GAN", "nsgan"), ("LSGAN", "lsgan"), ("WGAN", "wgan"),
    ("WGAN-GP", "wgan-gp"), ("hinge", "hinge"), ("PacGAN4", "pacgan"), ("VAE", "vae"),
    ("E-GAN", "egan"), ("Lip-BCE", "lip-bce"), ("Lip-MSE", "lip-mse"), ("Lip-HEU", "lip-heu"),
    ("Mustangs", "mustangs"), ("MSPG-SEN", "mspg"), ("MSPG-SEN + APFL", "mspg-apfl"),
    ("MSPG-SEN + DQN", "mspg-dqn"), ("MSPG-SEN + IQN", "mspg-iqn"), ("score SDE (VE)", "score"),
    ("DDPM", "ddpm"))
TOY_BUDGET = 2000
COEVOLUTION_SUFFIXES = ("lip-bce", "lip-mse", "lip-heu", "mustangs")   # 20 generations × 100
# stacked-mnist5k: the image methods a small machine can train, 1 000 updates, batch 32
STACKED_METHODS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("DCGAN (NS-GAN)", "stacked-mnist5k-gan", {}),
    ("PacDCGAN2", "stacked-mnist5k-gan", {"model.pack": 2}),
    ("MSPG-SEN", "stacked-mnist5k-mspg", {}),
    ("MSPG-SEN + DQN", "stacked-mnist5k-mspg-dqn", {}))
STACKED_BUDGET = {"steps": 1000, "data.batch_size": 32, "eval.interval": 0}
# ten evaluations over training: the convergence curve of every run (the protocol, docs/arena.md)
TOY_EVAL = {"eval.n_samples": 2500, "eval.interval": TOY_BUDGET // 10}
# docs/foundation.md: PacGAN (Lin et al. 2018) Table 1 and VEEGAN, as the spec quotes them
PUBLISHED = (
    ("GAN (PacGAN Table 1)", "ring8", {"modes_captured": 6.3, "reverse_kl": 0.45}),
    ("PacGAN4 (PacGAN Table 1)", "ring8", {"modes_captured": 7.8, "reverse_kl": 0.07}),
    ("VEEGAN", "ring8", {"modes_captured": 8.0}),
    ("GAN (PacGAN Table 1)", "grid25", {"modes_captured": 17.3, "reverse_kl": 0.70}),
    ("PacGAN4 (PacGAN Table 1)", "grid25", {"modes_captured": 24.8, "reverse_kl": 0.04}),
    ("VEEGAN", "grid25", {"modes_captured": 24.6}),
)


def toy_overrides(suffix: str, quick: bool) -> dict[str, Any]:
    """The budget of a toy method: 2 000 generator updates (quick: a few)."""
    if suffix in COEVOLUTION_SUFFIXES:
        over: dict[str, Any] = {"steps": TOY_BUDGET, "coevolution.batches_per_gen": TOY_BUDGET // 20}
        if quick:
            over = {"steps": 6, "coevolution.batches_per_gen": 3, "coevolution.rows": 2,
                    "coevolution.cols": 2, "coevolution.score_samples": 100,
                    "backend.name": "sequential"}         # smoke: no worker start-up
    else:
        over = {"steps": 6 if quick else TOY_BUDGET}
    return {**over, **TOY_EVAL, **({"eval.n_samples": 300} if quick else {})}


def budget_text(quick: bool, seeds: list[int], stacked: bool = False) -> str:
    """The budgets that actually ran, for the results' header."""
    if quick:
        return (f"Budgets (--quick smoke run, not comparable with anything): toy data "
                f"{toy_overrides('nsgan', True)['steps']} generator updates (grids 2×2, 2 "
                f"generations of 3 batches)" + (", stacked-mnist5k 2 updates" if stacked else "")
                + f"; {300} evaluation samples; seeds {seeds}.")
    return (f"Budgets: toy data {TOY_BUDGET} updates of every generator network (pair G, "
            "each grid cell's G over 20 generations × 100 batches on a 3×3 grid, E-GAN's "
            "parent, the VAE, the score net; 1/200 of PacGAN's 400 000), batch 512 (grid methods "
            "256, as the Lipizzaner presets), evaluated every 200 updates (the curves). "
            + (f"Stacked-mnist5k {STACKED_BUDGET['steps']} updates at batch 32, seed 0 only, "
               "26 000 samples for the 1 000-mode count and reverse KL. " if stacked else "")
            + f"Seeds {seeds}. Metrics on 2 500 samples.")


def plan(quick: bool, seeds: list[int], runs_root: Path,
         datasets: tuple[str, ...]) -> list[tuple[str, Job]]:
    """(method, run) of every run the board needs."""
    jobs: list[tuple[str, Job]] = []
    for dataset in (d for d in datasets if d != "stacked-mnist5k"):
        methods = TOY_METHODS[:2] + TOY_METHODS[9:10] if quick else TOY_METHODS
        for method, suffix in methods:
            for seed in seeds:
                preset = f"{dataset}-{suffix}"
                name = f"{preset}-s{seed}"
                jobs.append((method, Job(name, runs_root / name,
                                         {**toy_overrides(suffix, quick), "seed": seed}, preset)))
    if "stacked-mnist5k" in datasets:
        budget = {**STACKED_BUDGET, "steps": 2, "eval.n_samples": 300} if quick else STACKED_BUDGET
        for method, preset, extra in (STACKED_METHODS[:1] if quick else STACKED_METHODS):
            for seed in seeds[:1]:
                name = preset + ("-pack2" if extra.get("model.pack") else "") + f"-s{seed}"
                jobs.append((method, Job(name, runs_root / name,
                                         {**budget, **extra, "seed": seed}, preset)))
    return jobs


def run(out: Path, quick: bool = False, seeds: list[int] | None = None,
        runs_root: Path | None = None,
        datasets: tuple[str, ...] = ("ring8", "grid25"),
        launch: Launch = Launch()) -> list[Path]:
    """Train (or reuse) every run through the run scheduler (`launch`: local processes, one per
    core by default, or Ray tasks), then write modes.json/.md and leaderboard.md/.html.

    The committed board is the toy arena (ring8, grid25; 5 seeds). Stacked MNIST at 1 000
    updates is a classifier reading noise (FID above 1 200), so its board is opt-in
    (`datasets`); the stacked-MNIST claims are checked at a budget where the DCGAN draws digits
    by `genarena bench evidence-stacked`."""
    runs_root = runs_root or runs_folder("modes", quick)
    seeds = seeds if seeds is not None else [0] if quick else [0, 1, 2, 3, 4]
    jobs = plan(quick, seeds, runs_root, datasets)
    paths = run_jobs([job for _, job in jobs], launch.workers, replace=launch.replace,
                     address=launch.address,
                     records=records_beside(out, runs_root))
    entries = [_named(method, path) for (method, _), path in zip(jobs, paths)]
    rows = leaderboard.aggregate(entries)
    rows += [leaderboard.published_row(m, d, "published", **v) for m, d, v in PUBLISHED
             if d in datasets]
    command = ("genarena bench modes" + (" --quick" if quick else "") +
               (f" --seeds {len(seeds)}" if seeds != list(range(5)) and not quick else ""))
    machine = machine_info()
    preamble = [f"Command: `{command}`. Machine: {machine['cpu']}, {machine['cores']} cores, "
                f"torch {machine['torch']}, {machine['date']}.",
                budget_text(quick, seeds, "stacked-mnist5k" in datasets),
                "Stacked MNIST is not on this board: at the arena's budget it is noise; "
                "evidence.md (genarena bench evidence-stacked) compares DCGAN and PacDCGAN2 at a "
                "budget where the DCGAN draws digits.",
                "Published rows (PacGAN Table 1, VEEGAN) used far "
                "larger budgets; they are shown in italics and not ranked."]
    written = leaderboard.write(out, "leaderboard", "genarena arena: mode coverage", rows, preamble)
    result = {"suite": "modes", "command": command, "machine": machine, "seeds": seeds,
              "toy_budget": TOY_BUDGET, "stacked_budget": STACKED_BUDGET,
              "board": leaderboard.summary_of(rows), "peak_rss_mb": peak_rss_mb()}
    table = leaderboard.markdown(rows)
    notes = ["The same tables, with bar charts and every method's samples: leaderboard.html.",
             f"Peak RSS: {result['peak_rss_mb']:.0f} MB."]
    return written + write_results(out, "modes", result, "Mode coverage: every method", table,
                                   [*preamble, "", *notes])


def _named(method: str, path: Path) -> leaderboard.Entry:
    """The leaderboard entry of a finished run, under the method's display name."""
    entry = leaderboard.entries_from_runs([path])[0]
    entry.method = method
    return entry
