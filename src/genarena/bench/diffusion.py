"""`genarena bench diffusion` (docs/arena.md): the two DLSM reproductions, sampling time against NFE,
and the training cost of DLSM against cross-entropy.

Within a seed, every classifier is trained against the same frozen score net
(`guidance.score_run`), so the comparison isolates the classifier's loss.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch

from genarena.api import Run
from genarena.bench.common import Launch, machine_info, peak_rss_mb, runs_folder, train_all, write_results
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.diffusion.classifier import classifier_loss
from genarena.diffusion.dsm import score_fn
from genarena.diffusion.oracle import moons_posterior_errors
from genarena.diffusion.pipeline import make_sde
from genarena.diffusion.samplers import sample
from genarena.diffusion.sde import DDPM
from genarena.nets import build_classifier, build_score_net
from genarena.stats import mean_sd
from genarena.train.diffusion import score_net_signature

PAPER_MOONS = {"base (CE, α=1)": (0.198, 0.94, 1.00), "ours (total, α=1)": (0.066, 0.96, 1.00)}
MOONS_METHODS = (("base (CE, α=1)", "moons-dlsm-ce", 1.0), ("no guidance (α=0)", None, 0.0),
                 ("scaling (CE, α=10)", None, 10.0),
                 ("dlsm only (α=1)", "moons-dlsm-dlsm", 1.0), ("ours (total, α=1)", "moons-dlsm-total", 1.0))
PAPER_METHODS = (("base (CE, α=1)", "moons-paper-ce", 1.0), ("no guidance (α=0)", None, 0.0),
                 ("scaling (CE, α=10)", None, 10.0), ("ours (total, α=1)", "moons-paper-total", 1.0))
MOONS_SETUPS = {"paper": ("moons-paper-score", PAPER_METHODS), "ours": ("moons-score", MOONS_METHODS)}
DIGITS_METHODS = (("base (CE, α=1)", "digits-dlsm-ce", 1.0), ("scaling (CE, α=10)", None, 10.0),
                  ("ours (total, α=1)", "digits-dlsm-total", 1.0))


def _reusable_score_run(preset: str, out: Path, overrides: dict[str, Any]) -> Run | None:
    """A finished run in `out` whose score net was trained exactly as `preset` would train it,
    even if its sampling or evaluation settings differ."""
    if (out / "summary.json").exists():
        have, wanted = Run(out).config, load_config(preset, overrides)
        same = ("seed", "steps", "optim", "trainer")
        if score_net_signature(have) == score_net_signature(wanted) and \
                have.data.batch_size == wanted.data.batch_size and \
                all(getattr(have, k) == getattr(wanted, k) for k in same):
            return Run(out)
    return None


def score_runs(preset: str, root: Path, seeds: list[int], overrides: dict[str, Any],
               launch: Launch) -> dict[int, Run]:
    """The frozen score net of each seed (root/<preset>-s<seed>): reused where a finished run
    holds the same score net, the others trained together through the run scheduler."""
    runs: dict[int, Run] = {}
    todo = []
    for seed in seeds:
        out, over = root / f"{preset}-s{seed}", {**overrides, "seed": seed}
        found = _reusable_score_run(preset, out, over)
        if found is not None:
            runs[seed] = found
        else:
            todo.append((seed, out, over))
    trained = train_all([(preset, out, over) for _, out, over in todo], launch)
    runs.update({seed: run for (seed, _, _), run in zip(todo, trained)})
    return runs


def moons_table(root: Path, seeds: list[int], quick: bool, setup: str = "ours",
                launch: Launch = Launch()) -> tuple[list[str], dict[str, Any]]:
    """Table 1 of the DLSM paper for one setup of MOONS_SETUPS: per seed one score net, the
    classifiers trained against it, and the α = 0 / α = 10 rows reusing the CE classifier."""
    score_preset, methods = MOONS_SETUPS[setup]
    over: dict[str, Any] = {"steps": 60, "guidance.classifier_steps": 40, "diffusion.nfe": 20,
                            "eval.n_samples": 200} if quick else {}
    raw: dict[str, dict[str, list[float]]] = {m: {"error": [], "precision": [], "recall": []}
                                              for m, _, _ in methods}
    scores = score_runs(score_preset, root, seeds, over, launch)
    plan = [(seed, name, preset) for seed in seeds for name, preset, _ in methods if preset]
    classifiers = dict(zip(((seed, name) for seed, name, _ in plan), train_all(
        [(preset, root / f"{preset}-s{seed}",
          {**over, "seed": seed, "guidance.score_run": str(scores[seed].path)})
         for seed, _, preset in plan], launch)))
    for seed in seeds:
        for name, preset, scale in methods:
            if preset is None:                     # α = 0 and scaling reuse the CE classifier
                run = classifiers[seed, "base (CE, α=1)"].with_guidance_scale(scale)
                metrics = run.evaluate()
            else:
                run = classifiers[seed, name]
                metrics = run.summary["metrics"]
            errors = moons_posterior_errors(run.model(), run.dataset, scale=scale,
                                            oracle_points=500 if quick else 5000)
            raw[name]["error"].append(errors["mean"])
            raw[name]["precision"].append(metrics["classwise_precision"])
            raw[name]["recall"].append(metrics["classwise_recall"])
    table = ["| method | posterior-score error at σ=7.5 | class precision | class recall | "
             "paper (error / precision / recall) |", "|---|---|---|---|---|"]
    for name, _, _ in methods:
        paper = PAPER_MOONS.get(name)
        ref = f"{paper[0]} / {paper[1]} / {paper[2]}" if paper else "—"
        r = raw[name]
        table.append(f"| {name} | {mean_sd(r['error'], 3)} | {mean_sd(r['precision'], 3)} | "
                     f"{mean_sd(r['recall'], 3)} | {ref} |")
    base, ours = raw["base (CE, α=1)"]["error"], raw["ours (total, α=1)"]["error"]
    ratio = statistics.fmean(ours) / statistics.fmean(base)
    verdict = (f"total / CE error ratio: {ratio:.3f} (target ≤ 0.5; paper 0.066 / 0.198 = 0.333); "
               f"per seed: " + ", ".join(f"{o / b:.3f}" for o, b in zip(ours, base)))
    return table + ["", verdict], {"raw": raw, "ratio": ratio, "seeds": seeds}


BUDGETS = (1000, 2000, 8000)                 # classifier updates; 8 000 is the presets' budget


def budget_table(root: Path, seeds: list[int], quick: bool,
                 launch: Launch = Launch()) -> tuple[list[str], dict[str, Any]]:
    """The σ=7.5 error of CE and total classifiers against their number of updates (and seconds),
    each on the seed's shared score net: where in training DLSM's advantage lies."""
    budgets = (20, 40) if quick else BUDGETS
    over: dict[str, Any] = {"steps": 60, "diffusion.nfe": 20} if quick else {}
    scores = score_runs("moons-score", root, seeds, over, launch)
    plan, specs = [], []
    for kind in ("ce", "total"):
        for seed in seeds:
            for k in budgets:
                preset, common = f"moons-dlsm-{kind}", {**over, "seed": seed,
                                                         "guidance.score_run": str(scores[seed].path)}
                if k == load_config(preset, common).guidance.classifier_steps:   # the main table's
                    specs.append((preset, root / f"{preset}-s{seed}", common))
                else:
                    specs.append((preset, root / f"{preset}-k{k}-s{seed}",
                                  {**common, "guidance.classifier_steps": k, "eval.n_samples": 200}))
                plan.append((kind, k))
    raw: dict[str, dict[int, dict[str, list[float]]]] = {
        kind: {k: {"error": [], "seconds": []} for k in budgets} for kind in ("ce", "total")}
    for (kind, k), run in zip(plan, train_all(specs, launch)):
        errors = moons_posterior_errors(run.model(), run.dataset,
                                        oracle_points=500 if quick else 5000)
        raw[kind][k]["error"].append(errors["mean"])
        raw[kind][k]["seconds"].append(run.summary["train_seconds"])
    table = ["| classifier updates | CE error | total error | total ÷ CE | CE train s | total train s |",
             "|---|---|---|---|---|---|"]
    for k in budgets:
        ce, total = raw["ce"][k], raw["total"][k]
        ratio = statistics.fmean(total["error"]) / statistics.fmean(ce["error"])
        table.append(f"| {k} | {mean_sd(ce['error'], 3)} | {mean_sd(total['error'], 3)} | {ratio:.2f} | "
                     f"{statistics.fmean(ce['seconds']):.0f} | {statistics.fmean(total['seconds']):.0f} |")
    return table, raw


DIGITS_BUDGET = {"diffusion.nfe": 100, "eval.n_samples": 1000}   # guided sampling dominates the cost


def digits_table(root: Path, seed: int, quick: bool,
                 launch: Launch = Launch()) -> tuple[list[str], dict[str, Any]]:
    over: dict[str, Any] = ({"steps": 30, "guidance.classifier_steps": 20, "diffusion.nfe": 10,
                             "eval.n_samples": 100, "model.width": 8} if quick else dict(DIGITS_BUDGET))
    [score] = train_all([("digits-dlsm-ce", root / f"digits-score-s{seed}",
                          {**over, "seed": seed, "guidance.classifier": "none",
                           "guidance.classifier_steps": 0})], launch)
    guided = [(name, preset) for name, preset, _ in DIGITS_METHODS if preset]
    trained = dict(zip((name for name, _ in guided), train_all(
        [(preset, root / f"{preset}-s{seed}",
          {**over, "seed": seed, "guidance.score_run": str(score.path)}) for _, preset in guided],
        launch)))
    rows = {}
    keys = ("fid", "cas", "classwise_coverage", "classwise_precision", "classwise_recall",
            "classwise_fid")
    for name, preset, scale in DIGITS_METHODS:
        if preset is None:
            metrics = trained["base (CE, α=1)"].with_guidance_scale(scale).evaluate()
        else:
            metrics = trained[name].summary["metrics"]
        rows[name] = {k: metrics.get(k) for k in keys}
    table = ["| method | FID | CAS | class-wise coverage | class-wise precision | class-wise recall "
             "| class-wise FID |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        table.append(f"| {name} | " + " | ".join(f"{r[k]:.3f}" if isinstance(r[k], float) else "n/a"
                                                  for k in keys) + " |")
    b, o = rows["base (CE, α=1)"], rows["ours (total, α=1)"]
    verdict = (f"total vs CE: CAS {o['cas']:.3f} vs {b['cas']:.3f}; class-wise coverage "
               f"{o['classwise_coverage']:.3f} vs {b['classwise_coverage']:.3f} "
               f"(paper, CIFAR-10: CAS 0.38 → 0.58, FID 4.10 → 2.25)")
    return table + ["", verdict], rows


def _time(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def sampling_table(quick: bool) -> tuple[list[str], dict[str, Any]]:
    """Seconds per 1 000 two-moons samples (the moons score-MLP architecture) against NFE."""
    cfg = load_config("moons-score")
    dataset = build_dataset(cfg.data)
    net = build_score_net(cfg.model, dataset).eval()
    ve = make_sde(cfg, dataset)
    ddpm = DDPM(cfg.diffusion.timesteps)
    nfes = [10, 20] if quick else [50, 100, 250, 500, 1000]
    n = 100 if quick else 1000
    rows: dict[str, dict[int, float]] = {}
    for name, sde in (("em", ve), ("pc", ve), ("ode", ve), ("ddpm", ddpm)):
        score = score_fn(net, sde)
        rows[name] = {}
        for nfe in nfes:
            def run() -> None:
                with torch.no_grad():
                    sample(name, sde, score, (n, 2), nfe, torch.Generator().manual_seed(0))
            rows[name][nfe] = _time(run, 1 if quick else 3) * 1000 / n
    table = ["| sampler | " + " | ".join(f"NFE {k}" for k in nfes) + " |",
             "|---|" + "---|" * len(nfes)]
    table += [f"| {name} | " + " | ".join(f"{v:.3f} s" for v in r.values()) + " |"
              for name, r in rows.items()]
    return table, rows


def sharpness_table(root: Path, seed: int, quick: bool) -> tuple[list[str], dict[str, Any]]:
    """How far each sampler's unconditional moons samples land from the moons (which have no
    width), with the seed's trained score net and with the exact Parzen score of 4 000 points."""
    from genarena.diffusion.oracle import parzen_score
    over: dict[str, Any] = {"steps": 60, "diffusion.nfe": 20} if quick else {}
    run = score_runs("moons-score", root, [seed], over, Launch())[seed]
    model, dataset = run.model(), run.dataset
    sde = model.sde
    assert dataset.sampler is not None
    points, _ = dataset.sampler(500 if quick else 4000, torch.Generator().manual_seed(3))
    curve, _ = dataset.sampler(2000 if quick else 100_000, torch.Generator().manual_seed(4))

    def exact(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:      # the oracle on the CPU
        sigma = float(sde.marginal(t[:1])[1])
        return parzen_score(x.cpu(), points, sigma).float().to(x.device)

    n, nfe = (100, 20) if quick else (1000, 500)
    rows: dict[str, dict[str, float]] = {}
    for name in ("em", "pc", "ode"):
        rows[name] = {}
        for label, score in (("learned", score_fn(model.net, sde)), ("exact", exact)):
            with torch.no_grad():
                x = sample(name, sde, score, (n, 2), nfe, torch.Generator().manual_seed(0),
                           device=model.device).cpu()
            d = torch.cdist(x.double(), curve.double()).min(1).values
            rows[name][f"{label}_median"] = float(d.median())
            rows[name][f"{label}_p90"] = float(d.quantile(0.9))
    table = [f"| sampler (NFE {nfe}) | learned score: median | p90 | exact score: median | p90 |",
             "|---|---|---|---|---|"]
    table += [f"| {name} | {r['learned_median']:.3f} | {r['learned_p90']:.3f} | "
              f"{r['exact_median']:.3f} | {r['exact_p90']:.3f} |" for name, r in rows.items()]
    return table, rows


def cost_table(quick: bool) -> tuple[list[str], dict[str, Any]]:
    """Seconds per classifier update for ce / dlsm / total, and the ratio to ce."""
    out: dict[str, dict[str, float]] = {}
    for preset in ("moons-dlsm-ce", "digits-dlsm-ce"):
        cfg = load_config(preset)
        dataset = build_dataset(cfg.data)
        sde = make_sde(cfg, dataset)
        score = score_fn(build_score_net(cfg.model, dataset).eval(), sde)
        clf = build_classifier(cfg, dataset, sde.noise_std)
        opt = torch.optim.Adam(clf.parameters(), lr=1e-4)
        x, y = dataset.stream(cfg.data.batch_size, 0).next()
        out[preset] = {}
        for kind in ("ce", "dlsm", "total"):
            def step() -> None:
                loss, _ = classifier_loss(kind, clf, score, sde, x, y, torch.Generator().manual_seed(0))
                opt.zero_grad()
                loss.backward()
                opt.step()
            reps = 3 if quick else 30
            def steps() -> None:
                for _ in range(reps):
                    step()
            out[preset][kind] = _time(steps, 1 if quick else 3) / reps
    table = ["| classifier (batch) | ce s/step | dlsm s/step | total s/step | dlsm ÷ ce | total ÷ ce |",
             "|---|---|---|---|---|---|"]
    for preset, r in out.items():
        table.append(f"| {preset.split('-')[0]} | {r['ce']:.4f} | {r['dlsm']:.4f} | {r['total']:.4f}"
                     f" | {r['dlsm'] / r['ce']:.2f} | {r['total'] / r['ce']:.2f} |")
    return table, out


def run(out: Path, quick: bool = False, runs_root: Path | None = None,
        launch: Launch = Launch()) -> list[Path]:
    """All four parts; results in diffusion.json / diffusion.md (the runs through the run
    scheduler, `launch`)."""
    runs_root = runs_root or runs_folder("diffusion", quick)
    seeds = [0] if quick else [0, 1, 2]
    paper, paper_raw = moons_table(runs_root, seeds, quick, "paper", launch)
    moons, moons_raw = moons_table(runs_root, seeds, quick, "ours", launch)
    budget, budget_raw = budget_table(runs_root, seeds, quick, launch)
    digits, digits_raw = digits_table(runs_root, 0, quick, launch)
    sampling, sampling_raw = sampling_table(quick)
    sharpness, sharpness_raw = sharpness_table(runs_root, seeds[0], quick)
    cost, cost_raw = cost_table(quick)
    result = {"suite": "diffusion", "command": "genarena bench diffusion" + (" --quick" if quick else ""),
              "machine": machine_info(), "moons_paper_protocol": paper_raw, "moons": moons_raw,
              "moons_budget": budget_raw,
              "digits": digits_raw,
              "sampling_seconds_per_1000": sampling_raw,
              "sample_distance_to_moons": sharpness_raw, "classifier_step_seconds": cost_raw,
              "peak_rss_mb": peak_rss_mb()}
    table = (["## Two moons, the paper's protocol: posterior scores (DLSM paper, Table 1)", "",
              f"Seeds {seeds}; mean ± sd. The moons-paper presets: the paper's SDE (VE, σ in "
              "[0.001, 10]) and classifier (ReLU MLP of x beside one of σ), Adam at lr 1e-5, batch "
              "4 000, 10 000 updates. Error: mean Euclidean distance between s(x̃) + α∇log p(c|x̃) "
              "and the Parzen oracle ∇log p_σ(x̃|c) on the 35×35 grid over [-40,40]×[-25,25], averaged "
              "over both classes. Precision/recall: k=5 manifold metrics of 1 000 guided samples per "
              "class against that class's clean real points, averaged over classes.", ""] + paper +
             ["", "## Two moons, our classifiers: posterior scores", "",
              f"Seeds {seeds}; the moons-dlsm presets: VE σ_max from the data (60.8), 3×256 SiLU "
              "classifiers with Fourier time features at every layer, Adam 1e-3 cosine-decayed over "
              "8 000 updates, batch 512. Same error and metrics as above.", ""] + moons +
             ["", "## Two moons: error against classifier updates", "",
              f"Seeds {seeds}; the same score nets; classifiers as in the moons-dlsm presets with "
              "fewer updates (the lr's cosine decay spans each budget). Train seconds time the "
              "classifier's updates only (evaluation excluded).", ""] +
             budget +
             ["", "## Conditional digits (8×8): CE vs total", "",
              "One seed; VP score U-Net and classifiers as in the digits-dlsm presets, sampled with "
              f"predictor-corrector at {DIGITS_BUDGET['diffusion.nfe']} NFE and evaluated on "
              f"{DIGITS_BUDGET['eval.n_samples']} samples (guided sampling dominates the suite's "
              "time); metrics on the digits LeNet features; CAS = accuracy on the real test split "
              "of a LeNet trained on generated labelled samples.", ""] + digits +
             ["", "## Sampling time (seconds per 1 000 samples, moons score MLP)", ""] + sampling +
             ["", "## Sampler sharpness on two moons", "",
              f"Distance from each of 1 000 unconditional samples to the nearest of 100 000 exact "
              f"moons points (the moons have no width; data span ±30), seed {seeds[0]}'s score net "
              "against the exact Parzen score of 4 000 points. Why the moons presets sample with "
              "`em`.", ""] + sharpness +
             ["", "## Classifier training cost", ""] + cost)
    notes = [f"Peak RSS: {result['peak_rss_mb']:.0f} MB."]
    return write_results(out, "diffusion", result, "Diffusion and DLSM", table, notes)
