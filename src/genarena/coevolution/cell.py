"""One cell's generation (docs/coevolution.md), as a pure function of the neighbourhood's states.

`evolve_cell(ctx, cell, generation, states)` gathers the neighbourhood's individuals, scores
all generators against all discriminators without autograd, selects by tournament, mutates
learning rates, trains, keeps the fitter of trained and current individuals, and takes one
(1+1)-ES step on the neighbourhood mixture weights. Every random draw comes from a generator
seeded by (run seed, cell, generation), so where a cell runs cannot change what it computes.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import statistics
from typing import Literal, Mapping, Sequence

import torch
from torch import Tensor, nn

from genarena.coevolution.grid import Grid
from genarena.coevolution.mixture import MixtureGenerator, es_step
from genarena.coevolution.population import (
    IndividualState,
    Judged,
    Member,
    NetView,
    judged,
    materialise,
    mutate_lr,
    survivors,
    tournament,
)
from genarena.config import LOSS_DRAWS, Config
from genarena.control.multiagent import CellReport, cell_knobs
from genarena.data import build_dataset
from genarena.data.base import BatchStream, Dataset
from genarena.losses import get_loss
from genarena.metrics.proxy import TrainingDistance, training_sample
from genarena.nets import build_gan
from genarena.scalars import Stat, as_floats, statistic
from genarena.train.adversarial_step import DiscriminatorRules, discriminator_step, generator_step
from genarena.train.generative import LatentGenerator
from genarena.train.noise import sample_latent
from genarena.train.optim import make_optimizer, set_lr


class CellState(CellReport):
    """One cell of the grid between generations: plain data (it is checkpointed with
    weights_only loading and crosses Ray's object store), typed here. Grid controllers read the
    part declared by control's CellReport (stats, score, knobs)."""
    cell: int
    generation: int
    g: list[IndividualState]           # the cell's generators, fittest first
    d: list[IndividualState]           # its discriminators
    weights: list[float]               # mixture weights over the neighbourhood, self first


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers (run seed, cell, generation, purpose), stable everywhere."""
    digest = hashlib.sha256(",".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def grid_of(cfg: Config) -> Grid:
    c = cfg.coevolution
    return Grid(c.rows, c.cols, c.neighbourhood)


class CellContext:
    """What all cells in one process share: the config, the data, net builders, the scorer and
    the device cells train on (states stay on the CPU: they cross processes and checkpoints)."""

    def __init__(self, cfg: Config, dataset: Dataset | None = None,
                 scorer: TrainingDistance | None = None, device: torch.device | str = "cpu") -> None:
        self.cfg = cfg
        self.device = torch.device(device)
        self.dataset = dataset if dataset is not None else build_dataset(cfg.data)
        self.grid = grid_of(cfg)
        self._scorer = scorer
        # Mustangs draws G's loss at every call (each batch, each fitness pairing); in the
        # GECCO'19 code D trains with BCE whatever G's Lipizzaner loss, so lip-* judge with lip-bce
        name = cfg.loss.name
        g_names, d_name = LOSS_DRAWS.get(name, ((name,), "lip-bce" if name.startswith("lip-")
                                                 else name))
        self.g_losses = [get_loss(n) for n in g_names]
        self.d_loss = get_loss(d_name)

    @property
    def scorer(self) -> TrainingDistance:
        """Built on first use: sampling a trained run's mixture never needs it."""
        if self._scorer is None:
            c = self.cfg.coevolution
            self._scorer = TrainingDistance(self.dataset, c.mixture_score, c.score_samples,
                                            self.cfg.seed, self.cfg.eval.cache_dir, self.device)
        return self._scorer

    # nets -----------------------------------------------------------------------------------
    def new_pair(self) -> tuple[nn.Module, nn.Module]:
        """Freshly initialised G and D (uses the global torch RNG: callers fork it)."""
        return build_gan(self.cfg.model, self.dataset.sample_shape, self.dataset.value_range)

    def new_g(self) -> nn.Module:
        """A G to load weights into: a copy of a template, skipping random initialisation."""
        return copy.deepcopy(self._templates[0])

    def new_d(self) -> nn.Module:
        return copy.deepcopy(self._templates[1])

    @functools.cached_property
    def _templates(self) -> tuple[nn.Module, nn.Module]:
        with torch.random.fork_rng(devices=[]):
            g, d = self.new_pair()
        return g.to(self.device), d.to(self.device)

    def make_opt(self, net: nn.Module, lr: float) -> torch.optim.Optimizer:
        return make_optimizer(self.cfg.optim, net.parameters(), lr)

    def generator(self, state: IndividualState) -> LatentGenerator:
        """A sampling-only view of a generator individual (no net is built)."""
        m = self.cfg.model
        view = NetView(self._templates[0], state["net"], training=False)
        return LatentGenerator(view, m.z_dim, m.z_dist, self.device)  # type: ignore[arg-type]

    def judged_g(self, state: IndividualState) -> Judged:
        """A generator individual for fitness evaluation only (no net or optimizer built)."""
        return judged(state, self._templates[0])

    def judged_d(self, state: IndividualState) -> Judged:
        return judged(state, self._templates[1])

    def initial_state(self, cell: int) -> CellState:
        """Fresh individuals for a cell, initialised from (seed, cell) without touching global RNG."""
        c, o = self.cfg.coevolution, self.cfg.optim
        g_states, d_states = [], []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.cfg.seed, cell, -1))
            for _ in range(c.population):
                g, d = self.new_pair()
                g_states.append(Member(g, self.make_opt(g, o.lr_g), o.lr_g).state())
                d_states.append(Member(d, self.make_opt(d, o.lr_d), o.lr_d).state())
        k = len(self.grid.neighbours(cell))
        return {"cell": cell, "generation": 0, "g": g_states, "d": d_states,
                "weights": [1.0 / k] * k, "score": float("inf"), "stats": {}, "knobs": None}

    def mixture(self, weights: list[float], hood_states: list[CellState]) -> MixtureGenerator:
        """The neighbourhood mixture: each cell's first (fittest) generator, with these weights."""
        return MixtureGenerator([self.generator(s["g"][0]) for s in hood_states], weights)


# ----------------------------------------------------------------------------------------------
# The phases of a generation


def _latent(ctx: CellContext, n: int, rng: torch.Generator) -> Tensor:
    m = ctx.cfg.model
    return sample_latent(n, m.z_dim, m.z_dist, rng, ctx.device)


def _real(ctx: CellContext, stream: BatchStream) -> Tensor:
    """The stream's next batch on the cells' device."""
    return stream.next()[0].to(ctx.device, non_blocking=True)


@torch.no_grad()
def score_fitness(gs: Sequence[Judged | Member], ds: Sequence[Judged | Member], real: Tensor,
                  z: Tensor, ctx: CellContext, sides: str = "gd",
                  rng: torch.Generator | None = None) -> None:
    """All G against all D on one batch, no autograd: a G's fitness is its mean loss against
    the Ds (its cell's G loss; with a drawn loss, Mustangs, one draw from `rng` per pairing), a
    D's is its mean loss against the Gs (lower is fitter). `sides` says whose fitness to update:
    "g", "d" or both. Each G's fakes and each D's outputs on them are computed once."""
    fakes = [g.net(z) for g in gs]
    outputs = [[d.net(f) for f in fakes] for d in ds]             # outputs[d][g]
    if "g" in sides:
        for j, g in enumerate(gs):
            g.fitness = statistics.fmean(float(ctx.g_losses[_draw(ctx, rng)].g_loss(row[j]))
                                         for row in outputs)
    if "d" in sides:
        for d, row in zip(ds, outputs):
            out_real = d.net(real)
            d.fitness = statistics.fmean(float(ctx.d_loss.d_loss(out_real, o)) for o in row)


def _draw(ctx: CellContext, rng: torch.Generator | None) -> int:
    """The index of the G loss for one call: the cell's only one, or one of its drawn losses
    (uniformly, from `rng`; Mustangs draws at every call, training and fitness alike)."""
    if len(ctx.g_losses) == 1:
        return 0
    if rng is None:
        raise ValueError("a drawn G loss needs the cell's generator")
    return int(torch.randint(len(ctx.g_losses), (), generator=rng))


Opponent = Member | Judged


def _train(g_sel: list[Member], d_sel: list[Member], ctx: CellContext, stream: BatchStream,
           rng: torch.Generator, d_steps: int = 1, judges: Sequence[Opponent] | None = None,
           fakers: Sequence[Opponent] | None = None) -> dict[str, float]:
    """batches_per_gen rounds: on every `d_every`-th batch, `d_steps` batches where each D trains
    against a random G of `fakers`, then each G against a random D of `judges` with its loss
    (drawn per batch for Mustangs). By default the opponents are the other selected trainees."""
    cfg, c, clip = ctx.cfg, ctx.cfg.coevolution, ctx.cfg.trainer.grad_clip
    judges, fakers = judges or d_sel, fakers or g_sel
    rules = DiscriminatorRules.from_config(cfg, ctx.d_loss)
    n, draws = cfg.data.batch_size, [0] * len(ctx.g_losses)
    sums: dict[str, Stat] = {"loss_d": 0.0, "loss_g": 0.0, "d_acc_real": 0.0, "d_acc_fake": 0.0}
    d_batches = 0
    for b in range(c.batches_per_gen):
        if b % c.d_every == 0:
            d_batches += 1
            for _ in range(d_steps):
                real = _real(ctx, stream)
                for d in d_sel:
                    faker = fakers[int(torch.randint(len(fakers), (), generator=rng))]
                    with torch.no_grad():
                        fake = faker.net(_latent(ctx, n, rng))
                    d_stats = discriminator_step(rules, d.opt, d.net, d.net, real, fake)
                    share = 1.0 / (len(d_sel) * d_steps)
                    for key in ("loss_d", "d_acc_real", "d_acc_fake"):
                        sums[key] += d_stats[key] * share
        for g in g_sel:
            judge = judges[int(torch.randint(len(judges), (), generator=rng))]
            k = _draw(ctx, rng)
            draws[k] += 1
            g_loss = ctx.g_losses[k].g_loss
            loss = generator_step(g.opt, g.net,
                                  lambda: g_loss(judge.net(g.net(_latent(ctx, n, rng)))),
                                  (judge.net,), clip)
            sums["loss_g"] += statistic(loss) / len(g_sel)
    # read once per generation (on a GPU the sums stay on the device until here)
    stats = as_floats({k: v / (c.batches_per_gen if k == "loss_g" else d_batches)
                       for k, v in sums.items()})
    if len(ctx.g_losses) > 1:
        total = sum(draws)
        stats.update({f"draw_{loss.name}": c / total for loss, c in zip(ctx.g_losses, draws)})
    return stats


def _fitness_batch(ctx: CellContext, stream: BatchStream, rng: torch.Generator, cell: int, generation: int
                   ) -> tuple[Tensor, Tensor]:
    """Reals and latents a fitness table is judged on: the next training batch, or, with
    coevolution.fitness_samples, that many training samples drawn for this (cell, generation)."""
    n = ctx.cfg.coevolution.fitness_samples
    if n:
        real = training_sample(ctx.dataset, n, derive_seed(ctx.cfg.seed, cell, generation, 2))
        real = real.to(ctx.device)
    else:
        real = _real(ctx, stream)
    return real, _latent(ctx, len(real), rng)


def evolve_cell(ctx: CellContext, cell: int, generation: int, states: Mapping[int, CellState]
                ) -> CellState:
    """The cell's state after `generation`, from the states of its neighbourhood before it."""
    cfg, c = ctx.cfg, ctx.cfg.coevolution
    rng = torch.Generator().manual_seed(derive_seed(cfg.seed, cell, generation))
    stream = ctx.dataset.stream(cfg.data.batch_size, seed=derive_seed(cfg.seed, cell, generation, 1),
                                pin_memory=ctx.device.type == "cuda")
    hood = ctx.grid.neighbours(cell)
    live_g = lambda s: materialise(s, ctx.new_g, ctx.make_opt)          # noqa: E731
    live_d = lambda s: materialise(s, ctx.new_d, ctx.make_opt)          # noqa: E731
    g_pool_states = [s for h in hood for s in states[h]["g"]]
    d_pool_states = [s for h in hood for s in states[h]["d"]]

    # 1. fitness of the whole neighbourhood, all G vs all D (views: only trainees are built)
    g_pool = [ctx.judged_g(s) for s in g_pool_states]
    d_pool = [ctx.judged_d(s) for s in d_pool_states]
    real, z = _fitness_batch(ctx, stream, rng, cell, generation)
    score_fitness(g_pool, d_pool, real, z, ctx, rng=rng)
    own = states[cell]
    if c.selection:
        # 2. tournament selection; winners are fresh copies (a winner picked twice trains twice)
        g_win = tournament([m.fitness for m in g_pool], c.population, c.tournament_size, rng)
        d_win = tournament([m.fitness for m in d_pool], c.population, c.tournament_size, rng)
        g_sel = [live_g(g_pool_states[i]) for i in g_win]
        d_sel = [live_d(d_pool_states[i]) for i in d_win]
        judges: list[Opponent] | None = None
        fakers: list[Opponent] | None = None
    else:
        # 2'. no selection (the GECCO'19 configs): the cell's own individuals train, each batch
        #     against a random individual of the neighbourhood (this cell's own as they train)
        g_sel = [live_g(s) for s in own["g"]]
        d_sel = [live_d(s) for s in own["d"]]

        def others(pool: list[Judged], side: Literal["g", "d"]) -> list[Opponent]:
            """The pool's individuals that other cells of the neighbourhood hold."""
            owners = [h for h in hood for _ in states[h][side]]
            return [m for h, m in zip(owners, pool) if h != cell]
        judges = others(d_pool, "d") + list(d_sel)
        fakers = others(g_pool, "g") + list(g_sel)
    # 3. learning-rate mutation; a grid controller's knobs then scale the rates this cell
    #    trains with (the individuals keep and pass on their evolved rates)
    knobs = cell_knobs(own)
    for members, lr0, factor in ((g_sel, cfg.optim.lr_g, knobs.lr_g),
                                 (d_sel, cfg.optim.lr_d, knobs.lr_d)):
        for m in members:
            mutate_lr(m, lr0, c.mutation_probability, c.mutation_scale, c.lr_min, rng)
            set_lr(m.opt, m.lr * factor)
    # 4. training
    stats = _train(g_sel, d_sel, ctx, stream, rng, knobs.d_steps, judges, fakers)
    # 5. replacement: the fittest of trained and current local individuals, judged against the
    #    neighbourhood's individuals as they were before training (as Lipizzaner does; judging
    #    by the trained opponents would favour whoever they did not train against), on a new
    #    batch or on the generation's fitness samples. Without selection the trained are kept.
    if not c.fitness_samples:
        real = _real(ctx, stream)
        z = _latent(ctx, len(real), rng)
    if c.selection:
        g_cand: list[Judged | Member] = [*g_sel, *(ctx.judged_g(s) for s in own["g"])]
        d_cand: list[Judged | Member] = [*d_sel, *(ctx.judged_d(s) for s in own["d"])]
    else:
        g_cand, d_cand = list(g_sel), list(d_sel)
    score_fitness(g_cand, d_pool, real, z, ctx, sides="g", rng=rng)
    score_fitness(g_pool, d_cand, real, z, ctx, sides="d", rng=rng)
    new_g = survivors(g_cand, c.population)
    new_d = survivors(d_cand, c.population)
    stats["replaced_g"] = float(sum(any(m is t for t in g_sel) for m in new_g)) / len(new_g)
    # 6. one (1+1)-ES step on the neighbourhood mixture weights
    g_states, d_states = [m.state() for m in new_g], [m.state() for m in new_d]
    # scored with the weights still as they were; the step below replaces them (and the score)
    new_state: CellState = {"cell": cell, "generation": generation + 1, "g": g_states,
                            "d": d_states, "knobs": states[cell].get("knobs"),
                            "weights": own["weights"], "score": own["score"], "stats": stats}
    hood_states = [new_state if h == cell else states[h] for h in hood]
    evaluate = lambda w: ctx.scorer(ctx.mixture(list(w), hood_states))   # noqa: E731
    weights, score = es_step(own["weights"], evaluate(own["weights"]), evaluate, c.mixture_sigma, rng)
    stats.update({"lr_g": statistics.fmean(i["lr"] for i in g_states),
                  "lr_d": statistics.fmean(i["lr"] for i in d_states)})
    new_state.update({"weights": weights, "score": score, "stats": stats})
    return new_state
