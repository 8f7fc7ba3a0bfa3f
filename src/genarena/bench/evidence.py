"""`genarena bench evidence-STUDY` (#17): the seed papers' claims under the protocol of
docs/arena.md — the published presets at a stated fraction of the published budget (`--budget`),
several seeds, every figure with its 95% bootstrap interval, each claim checked on seed-paired
differences and reported as holds / refuted / not separable, and the convergence curve of every
method (mean and band over seeds) beside the published endpoint.

Each study writes evidence/STUDY.json and its curves; benchmarks/results/evidence.md is rebuilt
from every study on record plus the reproductions other suites keep (DLSM two moons and digits
from `bench diffusion`, the DFAC matrix game from `bench dfac`). Runs live in
runs/bench/evidence/STUDY/: a larger budget extends them (the curve continues), a killed study
resumes, a smaller budget is refused rather than throwing training away."""
from __future__ import annotations

import json
import math
import re
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from operator import attrgetter
from pathlib import Path
from typing import Any, Callable, Mapping

from genarena.bench.common import Launch, machine_info, records_beside, train_all
from genarena.bench.diffusion import DIGITS_BUDGET
from genarena.catalogue import better
from genarena.config import load_config
from genarena.checkpoint import atomic_write_bytes, atomic_write_text
from genarena.metrics.modes import ranked_value
from genarena.records import Records
from genarena.report.curves import band, run_curve
from genarena.report.plots import bands_png
from genarena.stats import check_claim, estimate, format_estimate
from genarena.train.marl import random_test_return

RUNS_ROOT = Path("runs/bench/evidence")


@dataclass(frozen=True)
class Arm:
    """One method of a study: a preset and the overrides that make it (besides the budget)."""
    label: str
    preset: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    published: Mapping[str, float] = field(default_factory=dict)   # metric -> the paper's figure
    group: str = ""               # arms of one group share a curve picture (a data set)


@dataclass(frozen=True)
class Claim:
    """"`better` beats `worse` on `metric`", as a paper states it (`source`: its words, figures)."""
    better: str
    worse: str
    metric: str
    source: str


@dataclass(frozen=True)
class Study:
    """Arms trained over seeds at `budget` × `reference_steps` generator updates, evaluated every
    `eval_every` steps (fixed, so that a larger budget extends the same runs)."""
    name: str
    title: str
    arms: tuple[Arm, ...]
    metrics: tuple[str, ...]        # table columns; curves are drawn for each
    claims: tuple[Claim, ...]
    reference_steps: int
    reference: str                  # what the reference budget is ("PacGAN's 400 000 updates")
    budget: float                   # the default fraction of it
    eval_every: int
    seeds: int
    protocol: str
    quick: Mapping[str, Any]        # the overrides of a --quick smoke run
    step_unit: int = 1              # steps come in multiples of this (a coevolution generation)
    extra: tuple[str, ...] = ()     # figures computed after training (EXTRA_FIGURES)
    results: str = ""               # also write out/RESULTS.json and .md (a suite of its own)
    xlabel: str = "generator updates"
    steps_key: str = "steps"        # the config key the budget sets
    # a stage every arm of a seed builds on (a frozen score net), trained once per seed at its
    # preset's budget; each arm gets its run folder as `shared_key`
    shared: Arm | None = None
    shared_key: str = ""


def _toy_arms(dataset: str) -> tuple[Arm, ...]:
    published = {"ring8": {"GAN": {"modes_captured": 6.3, "reverse_kl": 0.45},
                           "PacGAN4": {"modes_captured": 7.8, "reverse_kl": 0.07}},
                 "grid25": {"GAN": {"modes_captured": 17.3, "reverse_kl": 0.70},
                            "PacGAN4": {"modes_captured": 24.8, "reverse_kl": 0.04}}}[dataset]
    return tuple(Arm(f"{dataset} {name}", f"{dataset}-paper-{suffix}",
                     published=published.get(name, {}), group=dataset)
                 for name, suffix in (("GAN", "gan"), ("PacGAN2", "pacgan2"),
                                      ("PacGAN3", "pacgan3"), ("PacGAN4", "pacgan4")))


def _pacgan_claims() -> tuple[Claim, ...]:
    claims = []
    for dataset in ("ring8", "grid25"):
        for m in (2, 3, 4):
            for metric in ("modes_captured", "reverse_kl"):
                source = ("PacGAN Table 1: PacGAN4 7.8 vs GAN 6.3 modes (ring8), 24.8 vs 17.3 "
                          "(grid25); reverse KL 0.07 vs 0.45, 0.04 vs 0.70" if m == 4 else
                          "PacGAN Table 1: every packing degree beats GAN")
                claims.append(Claim(f"{dataset} PacGAN{m}", f"{dataset} GAN", metric, source))
    return tuple(claims)


_MUSTANGS_FID = {"GAN-BCE": 457.7, "E-GAN": 466.1, "Lip-BCE": 49.0, "Lip-MSE": 371.6,
                 "Lip-HEU": 52.5, "Mustangs": 42.2}
_MUSTANGS_SOURCE = ("Mustangs (GECCO'19) Table: classifier-FID Mustangs 42.2, Lip-BCE 49.0, "
                    "Lip-HEU 52.5, Lip-MSE 371.6, GAN-BCE 457.7, E-GAN 466.1")
_MSPG_SOURCE = "MSPG-SEN (seed 000) and SPEC 4.7: each part helps; the balancer beats static and APFL"
_GRID25_MSPG = {"data.batch_size": 256}
_STACKED_MSPG = {"eval.n_samples": 10_000}

# the digits arms log CAS, the DLSM claim's metric, at every evaluation: the classifier's curve
_DIGITS_ARM = {**DIGITS_BUDGET, "eval.conditional": "every"}
STUDIES: dict[str, Study] = {s.name: s for s in (
    Study("pacgan", "PacGAN Table 1: packing on the toy mixtures",
          _toy_arms("ring8") + _toy_arms("grid25"),
          ("modes_captured", "high_quality_fraction", "reverse_kl"), _pacgan_claims(),
          400_000, "PacGAN's 400 000 updates", 0.025, 1000, 5,
          "ring8/grid25-paper-{gan,pacgan2,3,4}: PacGAN's toy nets (maxout D), Adam 1e-4 "
          "β1 0.8, batch 100 per packed sample, metrics on 2 500 samples",
          {"steps": 4, "eval.interval": 2, "eval.n_samples": 300}),
    Study("stacked", "PacGAN stacked MNIST: DCGAN against PacDCGAN2",
          (Arm("DCGAN", "stacked-mnist5k-paper-dcgan",
               published={"modes_captured": 99, "reverse_kl": 3.40}),
           Arm("PacDCGAN2", "stacked-mnist5k-paper-pacdcgan2",
               published={"modes_captured": 1000, "reverse_kl": 0.06})),
          ("modes_captured", "reverse_kl", "fid"),
          tuple(Claim("PacDCGAN2", "DCGAN", m, "PacGAN Table 3: PacDCGAN2 1 000 modes vs DCGAN "
                      "99; reverse KL 0.06 vs 3.40") for m in ("modes_captured", "reverse_kl")),
          100_000, "PacGAN's 100 000 updates", 0.05, 500, 3,
          "stacked-mnist5k-paper-{dcgan,pacdcgan2}: DCGAN, z 100, Adam 2e-4 β1 0.5, batch 64 "
          "per packed sample; 1 000 modes and reverse KL on 26 000 samples by the MNIST-5k LeNet",
          {"steps": 2, "eval.interval": 1, "eval.n_samples": 300}),
    Study("mustangs", "Mustangs / Lipizzaner on MNIST-5k",
          tuple(Arm(name, f"mnist5k-paper-{suffix}", published={"fid_logits": _MUSTANGS_FID[name]})
                for name, suffix in (("GAN-BCE", "gan-bce"), ("E-GAN", "egan"),
                                     ("Lip-BCE", "lip-bce"), ("Lip-MSE", "lip-mse"),
                                     ("Lip-HEU", "lip-heu"), ("Mustangs", "mustangs"))),
          ("fid_logits", "fid", "classes_covered"),
          tuple(Claim(a, b, m, _MUSTANGS_SOURCE) for m in ("fid_logits", "fid_logits_5000")
                for a, b in (("Mustangs", "Lip-BCE"), ("Lip-BCE", "Lip-MSE"),
                             ("Lip-HEU", "Lip-MSE"), ("Mustangs", "Lip-MSE"),
                             ("Mustangs", "GAN-BCE"), ("Mustangs", "E-GAN"),
                             ("Lip-BCE", "GAN-BCE"), ("Lip-BCE", "E-GAN"))),
          60_000, "the GECCO'19 200 generations × 300 batches", 0.1, 300, 3,
          "mnist5k-paper-*: 3×3 grid, D every other batch, fitness on 1 000 samples, selection "
          "off, classifier-FID (LeNet logits) on 1 000 samples as the paper, and on 5 000",
          {"steps": 4, "coevolution.batches_per_gen": 2, "coevolution.rows": 2,
           "coevolution.cols": 2, "coevolution.fitness_samples": 100,
           "coevolution.score_samples": 100, "backend.name": "sequential",
           "eval.interval": 2, "eval.n_samples": 300},
          step_unit=300, extra=("fid_logits_5000",)),
    Study("mspg", "MSPG-SEN: the SPEC 4.7 ablation and the balancer (grid25)",
          tuple(Arm(label, preset, {**_GRID25_MSPG, **over}) for label, preset, over in (
              ("MSPG-SEN, static", "grid25-mspg", {}),
              ("without D_aux", "grid25-mspg", {"mspg.aux_weight": 0.0}),
              ("without feature matching", "grid25-mspg", {"mspg.fm_weight": 0.0}),
              ("without contrastive", "grid25-mspg", {"mspg.con_weight": 0.0}),
              ("with APFL", "grid25-mspg-apfl", {}), ("with DQN", "grid25-mspg-dqn", {}),
              ("with IQN", "grid25-mspg-iqn", {}), ("plain GAN", "grid25-nsgan", {}))),
          ("modes_captured", "high_quality_fraction", "reverse_kl"),
          tuple(Claim(a, b, m, _MSPG_SOURCE) for m in ("modes_captured", "reverse_kl")
                for a, b in (("MSPG-SEN, static", "without D_aux"),
                             ("MSPG-SEN, static", "without feature matching"),
                             ("MSPG-SEN, static", "without contrastive"),
                             ("with APFL", "MSPG-SEN, static"), ("with DQN", "MSPG-SEN, static"),
                             ("with DQN", "with APFL"), ("with IQN", "MSPG-SEN, static"),
                             ("MSPG-SEN, static", "plain GAN"))),
          2000, "genarena's arena budget of 2 000 updates (the paper states none)", 1.0, 200, 5,
          "grid25-mspg* (MLP variant of the losses and controllers), batch 256; metrics on "
          "2 500 samples", {"steps": 4, "eval.interval": 2, "eval.n_samples": 300}),
    Study("mspg-stacked", "MSPG-SEN: the architecture's parts on stacked MNIST",
          tuple(Arm(label, preset, {**_STACKED_MSPG, **over}) for label, preset, over in (
              ("MSPG-SEN, static", "stacked-mnist5k-mspg", {}),
              ("without DEMA", "stacked-mnist5k-mspg", {"model.dema": False}),
              ("without GCTDRN", "stacked-mnist5k-mspg", {"model.gctdrn": False}),
              ("plain DCGAN", "stacked-mnist5k-gan", {}))),
          ("modes_captured", "reverse_kl", "fid"),
          tuple(Claim(a, b, m, _MSPG_SOURCE) for m in ("modes_captured", "reverse_kl", "fid")
                for a, b in (("MSPG-SEN, static", "without DEMA"),
                             ("MSPG-SEN, static", "without GCTDRN"),
                             ("MSPG-SEN, static", "plain DCGAN"))),
          100_000, "stacked MNIST's published 100 000 updates (PacGAN; MSPG-SEN states none)",
          0.05, 200, 3,
          "stacked-mnist5k-mspg (conv MSPG-SEN: width 16, batch 32, AdamW 2e-4) with DEMA or "
          "GCTDRN off, against stacked-mnist5k-gan (DCGAN, batch 32); 1 000 modes, reverse KL "
          "and FID on 10 000 samples by the MNIST-5k LeNet (the arms are compared with each "
          "other, no published figure exists, and 26 000 samples cost 2.6× the evaluation). The "
          "parts that are losses or controllers (D_aux, feature matching, contrastive, DQN/IQN, "
          "APFL) are the `mspg` study's, on grid25: the conv MSPG-SEN trains at about 0.75 s per "
          "update on one core against the DCGAN's 0.11, so this study keeps the two parts only "
          "images can test. 0.05 of the budget, as the `stacked` study's DCGAN needed to draw "
          "digits (FID 267): at 0.02 MSPG-SEN's samples were blobs (FID 1 236 and 1 616)",
          {"steps": 2, "eval.interval": 1, "eval.n_samples": 300}),
    Study("dlsm-digits", "DLSM conditional sampling on 8×8 digits: the total loss against CE",
          (Arm("CE (α=1)", "digits-dlsm-ce", _DIGITS_ARM),
           Arm("total (α=1)", "digits-dlsm-total", _DIGITS_ARM)),
          ("cas", "fid"),
          tuple(Claim("total (α=1)", "CE (α=1)", m, "DLSM (seed 001) Table: on CIFAR-10 the "
                      "total loss raises CAS 0.38 → 0.58 and lowers FID 4.10 → 2.25")
                for m in ("cas", "fid")),
          3000, "the digits presets' 3 000 classifier updates (on a score net of 6 000 updates; "
          "the paper's CIFAR-10 budget does not transfer)", 1.0, 300, 3,
          "digits-dlsm-{ce,total}: one VP score U-Net (width 32, 6 000 updates, unguided FID "
          "logged every 600) per seed, frozen and shared by both arms of the seed, so the arms "
          "differ only in the classifier's loss; a noise-conditional classifier trained by CE or "
          "by the total loss against it, guidance α=1, predictor-corrector at 100 NFE; CAS (a "
          "LeNet trained on 1 000 generated labelled samples, tested on the real test split) and "
          "FID on the digits LeNet features, against classifier updates",
          {"steps": 2, "guidance.classifier_steps": 2, "eval.interval": 1, "eval.n_samples": 100,
           "diffusion.nfe": 4, "model.width": 8},
          xlabel="classifier updates", steps_key="guidance.classifier_steps",
          shared=Arm("score net", "digits-dlsm-ce",
                     {**DIGITS_BUDGET, "guidance.classifier": "none",
                      "guidance.classifier_steps": 0, "eval.interval": 600,
                      "log.checkpoint_interval": 600}),
          shared_key="guidance.score_run"),
    Study("controllers", "Grid controllers: per-cell DQN and the DFAC team against Mustangs",
          (Arm("Mustangs", "grid25-mustangs-static"), Arm("per-cell DQN", "grid25-mustangs-dqn"),
           Arm("DFAC team (DMIX)", "grid25-mustangs-dfac")),
          ("modes_captured", "high_quality_fraction", "reverse_kl", "swd"),
          tuple(Claim(a, "Mustangs", m, "SPEC 9 / 8.3: a controller helps the grid")
                for a in ("per-cell DQN", "DFAC team (DMIX)") for m in ("modes_captured",
                                                                        "reverse_kl")),
          2000, "genarena's grid budget of 2 000 updates per generator (no paper)", 1.0, 200, 3,
          "grid25-mustangs-{static,dqn,dfac}: 3×3 grid, 200 generations of 10 batches; the "
          "controllers set learning-rate factors and D steps of every cell each generation",
          {"steps": 20, "coevolution.rows": 2, "coevolution.cols": 2, "eval.interval": 10,
           "eval.n_samples": 300, "coevolution.score_samples": 100, "controller.batch": 2,
           "backend.name": "sequential"}),
)}


_METHODS = ("iql", "vdn", "qmix", "diql", "ddn", "dmix")
_MARL_TASKS = (("lbf-10x10-3p-3f", "LBF 10x10-3p-3f"), ("mpe-spread", "MPE Spread"))
_DFAC_SOURCE = ("DFAC (Sun et al. 2021) on SMAC: DMIX beats QMIX and DDN beats VDN; the "
                "distributional variants factorise the return's distribution, not only its mean")
STUDIES["marl"] = Study(
    "marl", "DFAC on cooperative MARL tasks: test return against environment steps",
    tuple(Arm(f"{label} {m.upper()}", f"marl-{task}-{m}", group=label)
          for task, label in _MARL_TASKS for m in _METHODS),
    ("test_return",),
    tuple(Claim(f"{label} {a}", f"{label} {b}", "test_return", _DFAC_SOURCE)
          for _, label in _MARL_TASKS for a, b in (("DMIX", "QMIX"), ("DDN", "VDN"),
                                                   ("DIQL", "IQL"))),
    2_000_000, "EPyMARL's 2 000 000 environment steps", 0.1, 20_000, 3,
    "marl-{lbf-10x10-3p-3f,mpe-spread}-{iql,vdn,qmix,diql,ddn,dmix}: GRU agents (observation, "
    "last action, agent id), EPyMARL's value-based hyperparameters, 8 parallel environments, one "
    "update per episode; greedy test return over 100 fixed test episodes; random_return is "
    "uniformly random agents on the same test episodes, the floor of the task. EPyMARL's published "
    "returns for these tasks (Papoudakis et al. 2021, arXiv 2006.07869, Table 3 and its "
    "appendix) are not printed beside ours: the copies of the paper this project's search tool "
    "holds stop before its tables, and a figure from memory is not a citation; their MPE Spread "
    "is also on another reward scale (docs/dfac.md)",
    {"steps": 800, "eval.interval": 400, "marl.test_episodes": 4, "marl.envs": 4,
     "marl.updates_per_round": 2, "marl.batch": 8, "marl.hidden": 16},
    results="marl", xlabel="environment steps", extra=("random_return",))

# `genarena bench SUITE` of each study
SUITES = {**{f"evidence-{name}": name for name in STUDIES if name != "marl"}, "marl": "marl"}


def steps_for(study: Study, budget: float) -> int:
    """Generator updates of each run at `budget` × the reference, a whole number of
    evaluation intervals (and of the study's step unit)."""
    unit = math.lcm(study.eval_every, study.step_unit)
    return max(unit, round(budget * study.reference_steps / unit) * unit)


def overrides_for(study: Study, arm: Arm, seed: int, budget: float, quick: bool) -> dict[str, Any]:
    """The run's overrides: the arm's, the budget (or the smoke budget) and the seed; the
    checkpoint interval is the evaluation interval, so a killed run loses at most one."""
    if quick:
        return _smoke(study, arm.overrides, seed)
    return {**arm.overrides, study.steps_key: steps_for(study, budget),
            "eval.interval": study.eval_every, "log.checkpoint_interval": study.eval_every,
            "seed": seed}


def shared_overrides(study: Study, seed: int, quick: bool) -> dict[str, Any]:
    """The overrides of the seed's shared stage: its own budget (its preset's), or the smoke one."""
    assert study.shared is not None
    if quick:
        return _smoke(study, study.shared.overrides, seed)
    return {**study.shared.overrides, "seed": seed}


def _smoke(study: Study, overrides: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """`overrides` at the study's smoke budget (--quick), checkpointing every other step."""
    return {**overrides, **study.quick, "log.checkpoint_interval": 2, "seed": seed}


def _train_shared(study: Study, root: Path, seeds: list[int], quick: bool, launch: Launch,
                  records: Records | None) -> dict[int, Any]:
    """The shared stage of each seed (root/<label>-s<seed>), trained, resumed or reused; from its
    record only when every arm is recorded too (an arm still to train needs its checkpoint)."""
    if study.shared is None:
        return {}
    arms_recorded = records is not None and all(
        records.has(root / f"{_slug(arm.label)}-s{seed}") for arm in study.arms for seed in seeds)
    runs = train_all([(study.shared.preset, root / f"{_slug(study.shared.label)}-s{seed}",
                       shared_overrides(study, seed, quick)) for seed in seeds], launch,
                     replace(records, restores=arms_recorded) if records is not None else None)
    return dict(zip(seeds, runs))


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def picture_name(study: str, group: str, metric: str) -> str:
    """The file of a study's curves of one metric (and group): a markdown link, so no spaces."""
    return f"{study}-{_slug(group) + '-' if group else ''}{metric}.png"


def _cached(run: Any, file: str, key: str, compute: Callable[[], float]) -> float:
    """A figure of the final model, computed once and kept in the run's folder beside its
    summary (so its record carries it); recomputed when the run was extended."""
    cache = run.path / file
    if cache.exists():
        kept = json.loads(cache.read_text())
        if kept["steps"] == run.config.steps:
            return float(kept[key])
    value = float(compute())
    atomic_write_text(cache, json.dumps({"steps": run.config.steps, key: value}) + "\n")
    return value


def _fid_logits_5000(run: Any, quick: bool) -> float:
    """Classifier-FID of the final model on 5 000 samples (the paper's is on 1 000); a quick
    run reads its own FID instead."""
    if quick:
        return float(run.summary["metrics"].get("fid_logits", math.nan))
    return _cached(run, "evidence-fid-logits-5000.json", "fid_logits",
                   lambda: run.evaluate(5000)["fid_logits"])


def _random_return(run: Any, quick: bool) -> float:
    """Uniformly random agents on the run's own test episodes: the floor of its task."""
    return _cached(run, "evidence-random-return.json", "random_return",
                   lambda: random_test_return(run.config))


EXTRA_FIGURES = {"fid_logits_5000": _fid_logits_5000, "random_return": _random_return}


def run(out: Path, quick: bool = False, study: str = "pacgan", budget: float | None = None,
        seeds: list[int] | None = None, launch: Launch = Launch(),
        runs_root: Path = RUNS_ROOT) -> list[Path]:
    """Train (or reuse, resume, extend) every arm × seed of `study`, then write
    evidence/STUDY.json, its curves, and evidence.md over every study on record."""
    s = STUDIES[study]
    budget = s.budget if budget is None else budget
    seeds = seeds if seeds is not None else [0, 1] if quick else list(range(s.seeds))
    root = runs_root / (f"{study}-quick" if quick else study)
    # seed-major: a study stopped part-way has every arm at its first seeds, so it compares arms
    plan = [(arm, seed) for seed in seeds for arm in s.arms]
    # evaluations fall on the first step past each interval (a round of episodes may overrun):
    # each is placed at the interval it crossed, so seeds share their curve's steps
    grid = (s.quick.get("eval.interval", 1) if quick else s.eval_every)
    records = records_beside(out, runs_root)
    shared = _train_shared(s, root, seeds, quick, launch, records)
    runs = train_all([(arm.preset, root / f"{_slug(arm.label)}-s{seed}",
                       {**overrides_for(s, arm, seed, budget, quick),
                        **({s.shared_key: str(shared[seed].path)} if shared else {})})
                      for arm, seed in plan], launch, records)
    values: dict[str, dict[str, dict[int, float]]] = {a.label: {} for a in s.arms}
    curves: dict[str, dict[str, list]] = {m: {} for m in s.metrics}
    seconds: dict[str, list[float]] = {a.label: [] for a in s.arms}
    for (arm, seed), r in zip(plan, runs):
        metrics = r.summary["metrics"]
        for m in s.metrics:
            v = ranked_value(metrics, m)
            if isinstance(v, (int, float)) and math.isfinite(v):
                values[arm.label].setdefault(m, {})[seed] = float(v)
            curves[m].setdefault(arm.label, []).append(run_curve(r.path, m, grid))
        for m in s.extra:
            values[arm.label].setdefault(m, {})[seed] = EXTRA_FIGURES[m](r, quick)
        if s.extra:
            records.save(r.path)                   # the extra figures' caches join the record
        seconds[arm.label].append(r.summary["train_seconds"])
    steps = int(attrgetter(s.steps_key)(runs[0].config))      # the dotted key the budget sets
    folder = out / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    pictures: dict[str, str] = {}
    for group in dict.fromkeys(a.group for a in s.arms):
        arms = [a for a in s.arms if a.group == group]
        for m in s.metrics:
            bands = {a.label: band(curves[m][a.label]) for a in arms}
            refs = {a.label: a.published[m] for a in arms if m in a.published}
            png = bands_png({k: v for k, v in bands.items() if v}, s.xlabel, m,
                            f"{group or s.title}: {m} ({len(seeds)} seeds, mean, 95% band)", refs)
            name = picture_name(study, group, m)
            atomic_write_bytes(folder / name, png)
            pictures[f"{group} {m}".strip()] = name
    verdicts = [_verdict(c, values) for c in s.claims]
    record = {
        "study": study, "title": s.title, "protocol": s.protocol, "seeds": seeds,
        "budget": budget if not quick else None, "steps": steps, "eval_every": grid,
        "reference_steps": s.reference_steps, "reference": s.reference, "quick": quick,
        "command": _command(study, budget, s, quick, seeds), "machine": machine_info(),
        "arms": [{"label": a.label, "preset": a.preset, "overrides": dict(a.overrides),
                  "published": dict(a.published), "train_seconds": seconds[a.label],
                  "values": {m: {str(k): v for k, v in values[a.label].get(m, {}).items()}
                             for m in (*s.metrics, *s.extra)}} for a in s.arms],
        "curves": {m: {label: band(c) for label, c in curves[m].items()} for m in s.metrics},
        "metrics": list(s.metrics), "pictures": pictures, "claims": verdicts,
        "shared": _shared_record(s, shared),
    }
    js = folder / f"{study}.json"
    text = json.dumps(record, indent=1, allow_nan=False, default=float) + "\n"
    atomic_write_text(js, text)
    own: list[Path] = []
    if s.results:
        atomic_write_text(out / f"{s.results}.json", text)
        atomic_write_text(out / f"{s.results}.md", "\n".join(
            [f"# {s.title}", "", *_verdict_table([record]), *_study_section(record)]) + "\n")
        own = [out / f"{s.results}.json", out / f"{s.results}.md"]
    return [js, *(folder / p for p in pictures.values()), *own, *write_report(out)]


def _shared_record(s: Study, shared: dict[int, Any]) -> dict[str, Any] | None:
    """The shared stage: its preset, budget, final figures per seed and curves (mean and band)."""
    if s.shared is None or not shared:
        return None
    first = next(iter(shared.values()))
    values = {m: {str(seed): float(r.summary["metrics"][m]) for seed, r in shared.items()
                  if isinstance(r.summary["metrics"].get(m), (int, float))} for m in s.metrics}
    every = first.config.eval.interval or first.config.steps
    return {"label": s.shared.label, "preset": s.shared.preset, "steps": first.config.steps,
            "overrides": dict(s.shared.overrides),
            "train_seconds": [r.summary["train_seconds"] for r in shared.values()],
            "values": {m: v for m, v in values.items() if v},
            "curves": {m: band([run_curve(r.path, m, every) for r in shared.values()])
                       for m, v in values.items() if v}}


def _command(study: str, budget: float, s: Study, quick: bool, seeds: list[int]) -> str:
    suite = next(name for name, st in SUITES.items() if st == study)
    return (f"genarena bench {suite}" + (" --quick" if quick else "")
            + (f" --budget {budget:g}" if budget != s.budget and not quick else "")
            + (f" --seeds {len(seeds)}" if len(seeds) != s.seeds and not quick else ""))


def _verdict(claim: Claim, values: dict[str, dict[str, dict[int, float]]]) -> dict[str, Any]:
    """The claim checked on the seeds both arms have a value for."""
    a, b = values[claim.better].get(claim.metric, {}), values[claim.worse].get(claim.metric, {})
    row: dict[str, Any] = {**asdict(claim), "better_value": _estimate(a),
                           "worse_value": _estimate(b)}
    if not a or not b:
        return {**row, "verdict": "not separable", "difference": None, "p_value": None,
                "paired": False}
    v = check_claim(a, b, better(claim.metric.removesuffix("_5000")) == "higher")
    return {**row, "verdict": v.verdict, "difference": asdict(v.difference),
            "p_value": v.p_value, "paired": v.paired}


def _estimate(values: dict[int, float]) -> dict[str, Any] | None:
    return asdict(estimate(list(values.values()))) if values else None


def write_report(out: Path) -> list[Path]:
    """benchmarks/results/evidence.md: one row per claim of every study on record, then each
    study's table and curves, then the reproductions other suites keep."""
    folder = out / "evidence"
    studies = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    order = list(STUDIES)
    studies.sort(key=lambda r: order.index(r["study"]) if r["study"] in order else len(order))
    lines = ["# Evidence: the seed papers' claims, under the protocol", "",
             "Every figure is mean ± sd [95% bootstrap interval of the mean] over the seeds "
             "listed; a claim is checked on seed-paired differences (bootstrap interval and an "
             "exact sign-flip p-value) and reported as **holds** (the interval of the difference "
             "lies on the claim's side of 0), **refuted** (on the other side) or **not "
             "separable**. Budgets are stated as a fraction of the published one, with the "
             "convergence curves that show whether a method had plateaued. How: docs/arena.md.",
             "", "Read the p column beside every verdict: a percentile bootstrap of a few seeds is "
             "narrow, and with n paired seeds the exact sign-flip p cannot fall below 1/2ⁿ (0.125 "
             "for 3 seeds, 0.031 for 5). A 3-seed **holds** says every seed agreed in direction "
             "and no more; only p < 0.05 is significant at 5%.",
             "", "## Verdicts", "", *_verdict_table(studies)]
    lines += _kept_reproductions(out)
    for r in studies:
        lines += _study_section(r)
    path = out / "evidence.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return [path]


def _verdict_table(studies: list[dict[str, Any]]) -> list[str]:
    """One row per claim of the studies: published, ours, the difference, p and the verdict."""
    lines = ["| study | claim | metric | published | ours (better / worse) | difference [95%] | "
             "p | verdict | budget |", "|---|---|---|---|---|---|---|---|---|"]
    for r in studies:
        for c in r["claims"]:
            diff = c["difference"]
            lines.append(
                f"| {r['study']} | {c['better']} beats {c['worse']} | {c['metric']} | "
                f"{_published(r, c)} | {_cell(c['better_value'])} / {_cell(c['worse_value'])} | "
                f"{_diff(diff)} | {_p(c['p_value'])} | "
                f"**{c['verdict']}** | {_budget(r)} |")
    return lines


def _p(p: float | None) -> str:
    return "–" if p is None else f"{p:.3g}"


def _budget(r: dict[str, Any]) -> str:
    if r.get("quick"):
        return "smoke run"
    return f"{r['steps']} steps = {r['steps'] / r['reference_steps']:.3g} × {r['reference']}"


def _published(r: dict[str, Any], c: dict[str, Any]) -> str:
    pub = {a["label"]: a["published"] for a in r["arms"]}
    metric = c["metric"].removesuffix("_5000")
    a, b = pub.get(c["better"], {}).get(metric), pub.get(c["worse"], {}).get(metric)
    return f"{a:g} / {b:g}" if a is not None and b is not None else "–"


def _cell(e: dict[str, Any] | None) -> str:
    if e is None:
        return "–"
    return format_estimate(_as_estimate(e))


def _diff(d: dict[str, Any] | None) -> str:
    if d is None:
        return "–"
    return f"{d['mean']:.3g} [{d['lo']:.3g}, {d['hi']:.3g}]"


def _as_estimate(e: dict[str, Any]) -> Any:
    from genarena.stats import Estimate
    return Estimate(**e)


def _study_section(r: dict[str, Any]) -> list[str]:
    metrics = list(r["metrics"])
    extra = [m for m in r["arms"][0]["values"] if m not in metrics]
    cols = metrics + extra
    lines = ["", f"## {r['title']}", "", f"Command: `{r['command']}`. {r['protocol']}.", "",
             f"Budget: {_budget(r)}; seeds {r['seeds']}; evaluated every "
             f"{_eval_every(r)} steps (the curves). Machine: {r['machine']['cpu']}, "
             f"{r['machine']['cores']} cores, {r['machine']['date']}.", "",
             "| method | " + " | ".join(cols) + " | published | train s |",
             "|---|" + "---|" * (len(cols) + 2)]
    for a in r["arms"]:
        cells = [_cell(_estimate({int(k): v for k, v in a["values"].get(m, {}).items()}))
                 for m in cols]
        pub = ", ".join(f"{k} {v:g}" for k, v in a["published"].items()) or "–"
        secs = statistics.fmean(a["train_seconds"]) if a["train_seconds"] else math.nan
        lines.append(f"| {a['label']} | " + " | ".join(cells) + f" | {pub} | {secs:.0f} |")
    if r.get("shared"):
        sh = r["shared"]
        figures = "; ".join(
            f"{m} {_cell(_estimate({int(k): v for k, v in per_seed.items()}))}, curve "
            + " → ".join(f"{p[1]:.3g}" for p in sh["curves"][m][::max(1, len(sh["curves"][m]) // 4)])
            for m, per_seed in sh["values"].items())
        lines += ["", f"Every arm of a seed builds on that seed's {sh['label']} (`{sh['preset']}`, "
                  f"{sh['steps']} updates, {statistics.fmean(sh['train_seconds']):.0f} s, trained "
                  f"once and frozen): {figures}."]
    lines += [""] + [f"![{m}](evidence/{png})" for m, png in r["pictures"].items()]
    lines += ["", "Has each method plateaued? Its curve's mean half-way through and at the end "
              "(the change over the second half of training):", ""]
    for m, per_arm in r["curves"].items():
        parts = [f"{label} {pts[len(pts) // 2][1]:.3g} → {pts[-1][1]:.3g}"
                 for label, pts in per_arm.items() if len(pts) > 1]
        lines.append(f"- {m}: {'; '.join(parts)}." if parts else
                     f"- {m}: measured at the end of training only (no curve).")
    return lines


def _eval_every(r: dict[str, Any]) -> str:
    if r.get("eval_every"):
        return str(r["eval_every"])
    # records written before `eval_every` was kept: the spacing of the curves' points
    steps = [p[0] for per_arm in r["curves"].values() for pts in per_arm.values() for p in pts]
    steps = sorted(set(steps))
    return str(steps[1] - steps[0]) if len(steps) > 1 else "–"


def _kept_reproductions(out: Path) -> list[str]:
    """The DLSM and DFAC reproductions of `bench diffusion` / `bench dfac`, as verdict rows."""
    lines = ["", "## Reproductions kept from other suites", ""]
    diffusion, dfac = out / "diffusion.json", out / "dfac.json"
    rows = ["| claim | published | ours | difference [95%] | p | verdict | source |",
            "|---|---|---|---|---|---|---|"]
    if diffusion.exists():
        d = json.loads(diffusion.read_text())
        raw = d["moons_paper_protocol"]["raw"]
        seeds = d["moons_paper_protocol"]["seeds"]
        total = dict(zip(seeds, raw["ours (total, α=1)"]["error"]))
        ce = dict(zip(seeds, raw["base (CE, α=1)"]["error"]))
        v = check_claim(total, ce, higher_is_better=False)
        rows.append(f"| DLSM two moons: total beats CE on the guidance error | 0.066 / 0.198 | "
                    f"{format_estimate(estimate(list(total.values())))} / "
                    f"{format_estimate(estimate(list(ce.values())))} | {_diff(asdict(v.difference))}"
                    f" | {v.p_value:.3g} | **{v.verdict}** | diffusion.md (moons-paper-*), seeds "
                    f"{seeds} |")
    if dfac.exists():
        d = json.loads(dfac.read_text())
        ret = {m: {r["seed"]: r["expected_return"] for r in d["raw"][m]} for m in d["raw"]}
        for a, b, pub in (("dmix", "ddn", "8 / 7 (DMIX like QMIX, DDN like VDN)"),
                          ("qmix", "vdn", "8 / 7 (QMIX paper)")):
            v = check_claim(ret[a], ret[b], higher_is_better=True)
            rows.append(f"| matrix game: {a.upper()} beats {b.upper()} on greedy return | {pub} | "
                        f"{format_estimate(estimate(list(ret[a].values())))} / "
                        f"{format_estimate(estimate(list(ret[b].values())))} | "
                        f"{_diff(asdict(v.difference))} | {v.p_value:.3g} | **{v.verdict}** | "
                        f"dfac.md, seeds {d['seeds']} |")
    if len(rows) == 2:
        return []
    return lines + rows + ["", "Conditional digits: the `dlsm-digits` study (CAS and FID over "
                           "seeds). The class-wise metrics of diffusion.md (one seed) compare "
                           "each class with 18 real images and cannot separate: no verdict is "
                           "drawn from them."]


def estimate_minutes(study: str, budget: float | None = None, workers: int = 2,
                     root: Path = Path("runs/bench/evidence-estimate")) -> list[str]:
    """The study's cost, from a short timed run of each arm (one evaluation interval, then an
    evaluation): minutes per run and for the whole study on `workers` parallel runs."""
    s = STUDIES[study]
    budget = s.budget if budget is None else budget
    steps = steps_for(s, budget)
    unit = math.lcm(s.eval_every, s.step_unit)
    started = time.perf_counter()
    seed = 999                                                   # never a reported seed
    lines = [f"{study}: {steps} updates per run ({budget:g} × {s.reference}), "
             f"{steps // s.eval_every} evaluations, {s.seeds} seeds"]
    total, extra = 0.0, {}
    if s.shared is not None:
        over = shared_overrides(s, seed, False)
        full = load_config(s.shared.preset, over)
        [stage] = train_all([(s.shared.preset, root / study / _slug(s.shared.label),
                              {**over, "steps": unit, "eval.interval": 0})],
                            Launch(workers, replace=True))          # timing runs are disposable
        evals = full.steps // full.eval.interval if full.eval.interval else 0
        per_seed = (stage.summary["train_seconds"] * full.steps / unit
                    + stage.summary["eval_seconds"] * (evals + 1)) / 60
        total += per_seed * s.seeds
        lines.append(f"  {s.shared.label} (once per seed): {per_seed:.1f} min")
        extra = {s.shared_key: str(stage.path)}
    runs = train_all([(arm.preset, root / study / _slug(arm.label),
                       {**arm.overrides, **extra, s.steps_key: unit, "eval.interval": 0,
                        "seed": seed}) for arm in s.arms], Launch(workers, replace=True))
    for arm, r in zip(s.arms, runs):
        summary = r.summary
        per_run = (summary["train_seconds"] * steps / unit
                   + summary["eval_seconds"] * steps / s.eval_every) / 60
        total += per_run * s.seeds
        lines.append(f"  {arm.label}: {per_run:.1f} min per run")
    lines.append(f"  whole study on {workers} workers: about {total / workers:.0f} min "
                 f"(timed {time.perf_counter() - started:.0f} s)")
    return lines


def check_budget(study: str, budget: float) -> None:
    """A budget must be positive; one too small for ten curve points is refused."""
    from genarena.errors import UserError
    s = STUDIES[study]
    if not budget > 0:
        raise UserError(f"--budget: expected a positive fraction of the published budget, got {budget}")
    points = steps_for(s, budget) // s.eval_every
    if points < 10:
        raise UserError(f"--budget: {budget:g} gives {points} evaluations in evidence-{study} "
                        f"(the protocol asks for at least 10); use at least "
                        f"{10 * s.eval_every / s.reference_steps:.3g}")
