"""`genarena bench scale`: what parallel runs and the coevolution engine get out of a machine.

(a) The run scheduler: runs per hour of a 10-run `sweep` of ring8-nsgan on 1 worker × 2 torch
    threads against 2 workers × 1 thread.
(b) The coevolution engine's overhead: wall seconds per generation (checkpoint writes amortised
    at the preset's interval) ÷ the training compute of its cells, by grid size and batches per
    generation, on each backend (sequential, worker processes, Ray). The training compute is a
    bare loop of the same nets (Adam, D step then G step, nothing else) timed in the same
    process and thread count, interleaved with the generations; with workers the denominator is
    the busiest worker's share of it, so the ratio measures the engine, not the split of cells.
(c) Peak resident memory of the driver and of every Ray actor.
(d) Cell batching: one step of all cells' identical nets batched with torch.func (stacked
    parameters, vmap) against the same cells one after another.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call, stack_module_state

from genarena.bench.common import bare_gan_step, machine_info, peak_rss_mb, process_memory_mb, write_results
from genarena.checkpoint import save_checkpoint
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.sweep import plan, run_jobs

GRID_PRESET = "mnist5k-mustangs"          # the Lipizzaner MLP grid on MNIST-5k
SWEEP_PRESET = "ring8-nsgan"


# (a) -----------------------------------------------------------------------------------------
def sweep_rate(root: Path, runs: int, steps: int, workers: int, threads: int) -> dict[str, Any]:
    """Runs per hour of a fresh `runs`-run sweep of ring8-nsgan on workers × threads."""
    jobs = plan(SWEEP_PRESET, [f"steps={steps}"], list(range(runs)), [],
                root / f"w{workers}t{threads}")
    start = time.perf_counter()
    run_jobs(jobs, workers, threads=threads)
    seconds = time.perf_counter() - start
    return {"workers": workers, "threads": threads, "runs": runs, "steps": steps,
            "seconds": seconds, "runs_per_hour": 3600 * runs / seconds}


# (b), (c) ------------------------------------------------------------------------------------
def bare_cell_seconds(trainer: Any, cells: list[int]) -> float:
    """Mean seconds of a bare loop training one of these cells' nets for a generation's batches
    (every cell has the same nets and batch size, so a few cells give the per-cell cost)."""
    ctx, cfg = trainer.ctx, trainer.cfg
    n, z_dim, batches = cfg.data.batch_size, cfg.model.z_dim, cfg.coevolution.batches_per_gen
    seconds = []
    for cell in cells:
        state = trainer.states[cell]
        stream = ctx.dataset.stream(n, seed=cell)
        start = time.perf_counter()
        g_state, d_state = state["g"][0], state["d"][0]
        g, d = ctx.new_g(), ctx.new_d()
        g.load_state_dict(g_state["net"])
        d.load_state_dict(d_state["net"])
        opt_g = torch.optim.Adam(g.parameters(), lr=cfg.optim.lr_g, betas=tuple(cfg.optim.betas))
        opt_d = torch.optim.Adam(d.parameters(), lr=cfg.optim.lr_d, betas=tuple(cfg.optim.betas))
        for _ in range(batches):
            bare_gan_step(g, d, opt_g, opt_d, stream.next()[0], z_dim)
        seconds.append(time.perf_counter() - start)
    return statistics.fmean(seconds)


BARE_SAMPLE = 2        # cells whose bare loop is timed in each round


def overhead(backend: str, rows: int, cols: int, batches: int, rounds: int) -> dict[str, Any]:
    """Seconds per generation of a rows×cols grid over its cells' bare training compute, with
    the checkpoint cost amortised at the preset's interval.

    After a warm-up generation, each round times one generation and then, right after it in the
    same process, the bare loop of a few cells; the round's ratio is the generation over the
    busiest worker's cells times the bare per-cell time. The median round is reported: the two
    timings of a round share the machine's state of the moment, which a mean of generations
    against one bare measurement did not (their noise was ±15% here)."""
    from genarena.coevolution.trainer import CoevolutionTrainer
    cfg = load_config(GRID_PRESET, {"coevolution.rows": rows, "coevolution.cols": cols,
                                    "coevolution.batches_per_gen": batches,
                                    "steps": (rounds + 2) * batches, "backend.name": backend})
    trainer = CoevolutionTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))
    actor_memory: list[dict[str, float]] = []
    generation_s, bare_s = [], []
    try:
        trainer.train_step()                       # warm-up (workers and actors start)
        # the cells each worker runs (sequential: one worker, every cell)
        assignment = getattr(trainer.backend, "assignment", [list(trainer.states)])
        sample = sorted(trainer.states)[:BARE_SAMPLE]
        for _ in range(rounds):                              # the budget leaves actors alive
            start = time.perf_counter()
            stats = trainer.train_step()
            generation_s.append(time.perf_counter() - start)
            bare_s.append(bare_cell_seconds(trainer, sample))
        moved = stats["bytes_exchanged"]
        if backend == "ray":
            ray_backend: Any = trainer.backend               # the Ray backend reports its actors
            actor_memory = [m for m in (process_memory_mb(i["pid"])
                                        for i in ray_backend.actor_info()) if m is not None]
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            save_checkpoint({"trainer": trainer.state_dict()}, Path(tmp) / "last.pt")
            checkpoint_s = time.perf_counter() - started
            checkpoint_mb = (Path(tmp) / "last.pt").stat().st_size / 1e6
    finally:
        trainer.close()
    busiest = max(len(cells) for cells in assignment)
    every = max(1, cfg.log.checkpoint_interval // batches)    # generations between checkpoints
    ratios = [(g + checkpoint_s / every) / (busiest * b) for g, b in zip(generation_s, bare_s)]
    return {"backend": backend, "cells": rows * cols, "batches_per_gen": batches,
            "rounds": rounds, "seconds_per_generation": statistics.median(generation_s),
            "generation_seconds": generation_s, "bare_cell_seconds": bare_s,
            "checkpoint_seconds": checkpoint_s, "checkpoint_mb": checkpoint_mb,
            "checkpoint_every_generations": every, "busiest_worker_cells": busiest,
            "round_ratios": ratios, "ratio": statistics.median(ratios),
            "bytes_per_generation": moved, "actor_memory_mb": actor_memory}


class _IdleActor:
    """A Ray actor that has imported what a cell worker imports and holds nothing."""

    def __init__(self) -> None:
        import genarena.coevolution.backends.ray  # noqa: F401

    def pid(self) -> int:
        import os
        return os.getpid()

    def first_optimizer(self) -> None:
        """Build one torch.optim optimizer: torch then imports torch._dynamo (about 800 modules),
        a cost every process that trains pays once."""
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def idle_actor_memory() -> dict[str, dict[str, float] | None]:
    """The floors under every cell worker: an idle Ray actor with torch and genarena imported,
    then the same actor after its first optimizer."""
    import ray
    actor: Any = ray.remote(num_cpus=1)(_IdleActor).remote()
    try:
        pid = ray.get(actor.pid.remote())
        idle = process_memory_mb(pid)
        ray.get(actor.first_optimizer.remote())
        return {"idle": idle, "first_optimizer": process_memory_mb(pid)}
    finally:
        ray.kill(actor)


# (d) -----------------------------------------------------------------------------------------
GANPairs = list[tuple[torch.nn.Module, torch.nn.Module]]


def _cell_pairs(cells: int) -> tuple[GANPairs, Tensor, Any]:
    """`cells` Lipizzaner MLP pairs (seeded), a real batch per cell, and the config."""
    cfg = load_config(GRID_PRESET, {})
    from genarena.nets import build_gan
    shape, value_range = (1, 28, 28), (-1.0, 1.0)
    torch.manual_seed(0)
    pairs: GANPairs = [build_gan(cfg.model, shape, value_range) for _ in range(cells)]
    real = torch.rand(cells, cfg.data.batch_size, *shape) * 2 - 1
    return pairs, real, cfg


def _adam(cfg: Any, params: Any) -> torch.optim.Adam:
    beta1, beta2 = cfg.optim.betas
    return torch.optim.Adam(params, lr=cfg.optim.lr_g, betas=(beta1, beta2))


def one_after_another(pairs: GANPairs, real: Tensor, latents: Tensor, cfg: Any) -> None:
    """Each cell's steps in turn (latents: steps × 2 × cells × batch × z)."""
    opts = [(_adam(cfg, g.parameters()), _adam(cfg, d.parameters())) for g, d in pairs]
    for z_d, z_g in latents:
        for c, ((g, d), (opt_g, opt_d)) in enumerate(zip(pairs, opts)):
            bare_gan_step(g, d, opt_g, opt_d, real[c], cfg.model.z_dim, (z_d[c], z_g[c]))


def batched(pairs: GANPairs, real: Tensor, latents: Tensor, cfg: Any) -> dict[str, Tensor]:
    """Every cell's step at once (vmap over stacked weights); the G parameters it ends with."""
    g_params, g_buffers = stack_module_state([g for g, _ in pairs])
    d_params, d_buffers = stack_module_state([d for _, d in pairs])
    g0, d0 = pairs[0]
    g_fn = torch.vmap(lambda p, b, z: functional_call(g0, (p, b), (z,)))
    d_fn = torch.vmap(lambda p, b, x: functional_call(d0, (p, b), (x,)))
    opt_g = _adam(cfg, list(g_params.values()))
    opt_d = _adam(cfg, list(d_params.values()))
    for z_d, z_g in latents:
        with torch.no_grad():
            fake = g_fn(g_params, g_buffers, z_d)
        # summed over cells: each cell's parameters get exactly its own loss's gradient
        loss = (F.softplus(-d_fn(d_params, d_buffers, real)).mean((1, 2))
                + F.softplus(d_fn(d_params, d_buffers, fake)).mean((1, 2))).sum()
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
        frozen = {k: v.detach() for k, v in d_params.items()}
        loss = F.softplus(-d_fn(frozen, d_buffers, g_fn(g_params, g_buffers, z_g))).mean((1, 2)).sum()
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
    return g_params


def cell_batching(cells: int, steps: int) -> dict[str, Any]:
    """Seconds per step of `cells` Lipizzaner MLP pairs: one after another vs vmapped together.
    Both do the same arithmetic: a D step (BCE) then a G step (non-saturating), Adam, on the
    same latents (tests/bench/test_scale.py checks they end with the same weights)."""
    pairs, real, cfg = _cell_pairs(cells)
    latents = torch.randn(steps, 2, cells, cfg.data.batch_size, cfg.model.z_dim)
    timings = {}
    for name, fn in (("one_after_another", one_after_another), ("batched", batched)):
        fn(pairs, real, latents, cfg)                          # warm-up
        rounds = []
        for _ in range(3):
            start = time.perf_counter()
            fn(pairs, real, latents, cfg)
            rounds.append((time.perf_counter() - start) / steps)
        timings[name] = statistics.median(rounds)
    return {"cells": cells, "steps": steps, "seconds_per_step": timings,
            "speedup": timings["one_after_another"] / timings["batched"]}


# the suite -----------------------------------------------------------------------------------
def run(out: Path, quick: bool = False, runs_root: Path = Path("runs/bench/scale")) -> list[Path]:
    """All four measurements; scale.json / scale.md under `out`."""
    torch.set_num_threads(1)                 # the engine's cells and the bare loop: one thread
    sweep_runs, sweep_steps = (2, 20) if quick else (10, 500)
    grids = ((2, 2),) if quick else ((1, 1), (2, 2), (3, 3), (5, 5))
    batch_sizes, rounds = ((5,), 1) if quick else ((50, 300), 3)
    with tempfile.TemporaryDirectory(dir=_made(runs_root)) as tmp:     # never reuse timed runs
        sweeps = [sweep_rate(Path(tmp), sweep_runs, sweep_steps, w, t) for w, t in ((1, 2), (2, 1))]
    engine = [overhead(backend, r, c, b, rounds) for backend in ("sequential", "processes")
              for b in batch_sizes for r, c in grids]
    from genarena.cluster import start_ray
    started = start_ray("", num_cpus=None)                    # one local Ray for every grid
    try:
        engine += [overhead("ray", r, c, b, rounds) for b in batch_sizes for r, c in grids]
        idle = idle_actor_memory()
    finally:
        if started:
            import ray
            ray.shutdown()
    batching = cell_batching(4 if quick else 9, 5 if quick else 50)
    actors = [m for r in engine for m in r["actor_memory_mb"]]
    result = {"suite": "scale", "command": "genarena bench scale" + (" --quick" if quick else ""),
              "machine": machine_info(), "sweep": sweeps, "engine": engine,
              "cell_batching": batching, "peak_rss_mb": peak_rss_mb(), "idle_actor_mb": idle,
              "ray_actor_memory_mb": {k: max(m[k] for m in actors) for k in actors[0]}
              if actors else None}
    return write_results(out, "scale", result, "Scale: parallel runs and the coevolution engine",
                         _tables(result, grids, batch_sizes), _notes(result))


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tables(result: dict[str, Any], grids: tuple[tuple[int, int], ...],
            batch_sizes: tuple[int, ...]) -> list[str]:
    sweeps, engine, batching = result["sweep"], result["engine"], result["cell_batching"]
    s = sweeps[0]
    lines = ["## (a) The run scheduler", "",
             f"A {s['runs']}-run `genarena sweep {SWEEP_PRESET} steps={s['steps']}` (seeds "
             f"0-{s['runs'] - 1}, each run with its final evaluation), from scratch.", "",
             "| workers × torch threads | wall s | runs per hour |", "|---|---|---|"]
    lines += [f"| {r['workers']} × {r['threads']} | {r['seconds']:.0f} | {r['runs_per_hour']:.0f} |"
              for r in sweeps]
    lines += ["", f"2 × 1 over 1 × 2: {sweeps[1]['runs_per_hour'] / sweeps[0]['runs_per_hour']:.2f}×.",
              "", "## (b) Coevolution: seconds per generation ÷ its cells' training compute", "",
              f"{GRID_PRESET} (Lipizzaner MLP nets, batches of 100, population 1 per cell, "
              "Mustangs' per-batch loss draw); one torch thread per process. After a warm-up "
              f"generation, {engine[0]['rounds']} rounds each time one generation and then, "
              f"right after it, the bare loop of {BARE_SAMPLE} cells; each entry is the median "
              "round's ratio of the generation (checkpoint writes amortised at the preset's "
              "interval) to the busiest worker's cells × the bare per-cell time. processes and "
              "Ray: one single-threaded worker process or actor per core (2).", "",
              "| backend | batches/gen | " + " | ".join(f"{r * c} cells" for r, c in grids) + " |",
              "|---|---|" + "---|" * len(grids)]
    for backend in ("sequential", "processes", "ray"):
        for b in batch_sizes:
            rows = [r for r in engine if r["backend"] == backend and r["batches_per_gen"] == b]
            lines.append(f"| {backend} | {b} | " + " | ".join(
                f"{r['ratio']:.2f} ({r['seconds_per_generation']:.1f} s)" for r in rows) + " |")
    lines += ["", "Each entry: the ratio (wall seconds per generation in brackets). Checkpoints: "
              + ", ".join(f"{r['cells']} cells {r['checkpoint_mb']:.0f} MB in "
                          f"{r['checkpoint_seconds']:.2f} s" for r in engine
                          if r["backend"] == "sequential" and r["batches_per_gen"] == batch_sizes[0])
              + f", written every {engine[0]['checkpoint_every_generations']} generation(s) at "
              f"{batch_sizes[0]} batches.", "",
              "## (c) Memory", "", *_memory_lines(result),
              "", "## (d) Cell batching with torch.func", "",
              f"{batching['cells']} Lipizzaner MLP pairs, one D step and one G step each per "
              f"step, {batching['steps']} steps, median of 3 rounds.", "",
              "| cells one after another s/step | batched (vmap) s/step | speedup |", "|---|---|---|",
              f"| {batching['seconds_per_step']['one_after_another']:.4f} | "
              f"{batching['seconds_per_step']['batched']:.4f} | {batching['speedup']:.2f}× |"]
    return lines


MEMORY_GOAL_MB = 400       # per Ray actor, its own (private) memory: issue #16, docs/arena.md


def _memory_lines(result: dict[str, Any]) -> list[str]:
    """The driver's peak RSS and, per grid, the largest Ray actor's memory after its last
    generation (peak RSS, RSS, PSS, private), against the floors of an idle actor."""
    lines = [f"Peak RSS of the driver (this bench process, which also ran every sequential grid): "
             f"{result['peak_rss_mb']:.0f} MB.", "",
             "Largest Ray actor after the measured rounds (MB). An actor's own memory is its "
             "private pages: what the node gets back when the actor exits. RSS also counts pages "
             "every process on the node shares: torch's and Ray's libraries (code mapped once per "
             "machine) and the object-store pages the actor read or wrote (the states and the "
             "data, held once by the store for all actors). PSS splits shared pages among their "
             f"users. The goal, at most {MEMORY_GOAL_MB} MB per actor, is checked against private "
             "memory.", "",
             "| actor | batches/gen | peak RSS | RSS | PSS | private | private ≤ "
             f"{MEMORY_GOAL_MB} MB |", "|---|---|---|---|---|---|---|"]

    def row(name: str, batches: str, m: dict[str, float]) -> str:
        holds = "holds" if m["private"] <= MEMORY_GOAL_MB else "fails"
        return (f"| {name} | {batches} | {m['peak_rss']:.0f} | {m['rss']:.0f} | {m['pss']:.0f} | "
                f"{m['private']:.0f} | {holds} |")
    floors = result["idle_actor_mb"] or {}
    if floors.get("idle"):
        lines.append(row("idle (torch, Ray and genarena imported)", "", floors["idle"]))
    if floors.get("first_optimizer"):
        lines.append(row("idle, after its first torch.optim optimizer", "",
                         floors["first_optimizer"]))
    for r in result["engine"]:
        if r["actor_memory_mb"]:
            m = {k: max(a[k] for a in r["actor_memory_mb"]) for k in r["actor_memory_mb"][0]}
            lines.append(row(f"{r['cells']} cells", str(r["batches_per_gen"]), m))
    return lines


def _notes(result: dict[str, Any]) -> list[str]:
    keep = result["cell_batching"]["speedup"] >= 1.3
    return ["Cell batching is " + ("at or above" if keep else "below") + " the 1.3× the engine "
            "would need to adopt it (docs/coevolution.md records the decision)."]
