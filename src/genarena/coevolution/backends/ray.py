"""Cells in Ray actors: several cells per actor, synchronous generations, restarts.

Each generation the driver sends every actor the before-states of its cells' neighbourhoods and
waits for all of them (the barrier). A cell's generation is a pure function of those states and
of (seed, cell, generation), so its result equals the sequential backend's.

Fault tolerance: actors restart without limit and their tasks are retried. The before-states of
a generation are the cells' checkpoint (the driver also writes the whole grid to
checkpoints/last.pt every generation), so a restarted actor recomputes exactly the same cells.

A local Ray (no backend.address) is started on 127.0.0.1 only (genarena.cluster.start_ray);
backend.address=auto|HOST:PORT joins a cluster started with `ray start --head`.
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

import numpy as np
import torch

from genarena.checkpoint import map_leaves
from genarena.cluster import import_ray, start_ray
from genarena.coevolution.backends import state_bytes
from genarena.coevolution.cell import CellContext, CellState, evolve_cell
from genarena.config import Config, from_dict, to_dict
from genarena.data.base import Dataset
from genarena.errors import UserError
from genarena.metrics.proxy import TrainingDistance
from genarena.train.precision import set_switches


def to_wire(obj: Any) -> Any:
    """Tensors as NumPy views (no copy): Ray stores NumPy arrays out of band and hands them to
    the receiver as views of its shared object store, where tensors would be copied twice."""
    return map_leaves(obj, lambda v: v.detach().numpy() if isinstance(v, torch.Tensor) else v)


def from_wire(obj: Any) -> Any:
    """The inverse of to_wire, again without copies. The arrays are read-only views of the
    object store; a generation only reads its input states (it copies what it trains)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The given NumPy array is not writable")
        return map_leaves(obj, lambda v: torch.from_numpy(v) if isinstance(v, np.ndarray) else v)


def dataset_to_wire(dataset: Dataset) -> Dataset:
    """The dataset with its arrays in wire form: put in the object store once, every actor reads
    the same shared pages instead of loading its own copy."""
    return dataclasses.replace(dataset, **{f: to_wire(getattr(dataset, f)) for f in _ARRAYS})


def dataset_from_wire(dataset: Dataset) -> Dataset:
    return dataclasses.replace(dataset, **{f: from_wire(getattr(dataset, f)) for f in _ARRAYS})


_ARRAYS = ("train_x", "train_y", "test_x", "test_y")


class CellWorker:
    """The actor body: a CellContext built once from the driver's dataset (shared through the
    object store) and its scorer's reference statistics, then generations of its cells (on the
    GPU Ray gave the actor, when it asked for one)."""

    def __init__(self, config: dict[str, Any], threads: int, dataset: Dataset,
                 scorer: dict[str, Any], device: str = "cpu") -> None:
        torch.set_num_threads(threads)
        cfg = from_dict(config)
        set_switches(cfg.trainer)                 # the actor's process lives for this run only
        data = dataset_from_wire(dataset)
        scorer_here = TrainingDistance.from_reference(scorer, data, cfg.eval.cache_dir,
                                                      torch.device(device))
        self.ctx = CellContext(cfg, data, scorer_here, device)

    def evolve(self, cells: list[int], generation: int, states: dict[int, Any]) -> dict[int, Any]:
        """The cells' states after `generation`, in and out in wire form."""
        import ray
        before = from_wire({c: ray.get(ref) for c, ref in states.items()})
        return to_wire({c: evolve_cell(self.ctx, c, generation, before) for c in cells})

    def info(self) -> dict[str, Any]:
        import ray
        return {"pid": os.getpid(), "node_ip": ray.util.get_node_ip_address()}

    def ping(self) -> bool:
        return True


def actor_count(resources: dict[str, float], workers: int, gpus_per_actor: float,
                cells: int) -> int:
    """How many cell actors the cluster can run at once: `workers` (default one per CPU), no
    more than the cells, and, when each asks for GPUs, no more than the GPUs hold (an actor Ray
    cannot place would never start, and the generation would wait for it forever)."""
    count = min(workers or int(resources.get("CPU", 1)), cells)
    if gpus_per_actor > 0:
        fit = int(resources.get("GPU", 0) / gpus_per_actor + 1e-9)
        if fit < 1:
            raise UserError(f"config key 'backend.gpus_per_actor': each actor asks for "
                            f"{gpus_per_actor:g} GPU, the cluster has "
                            f"{resources.get('GPU', 0):g}")
        count = min(count, fit)
    return max(1, count)


class RayBackend:
    """Spreads the grid's cells over `backend.workers` actors (default: one per CPU)."""

    def __init__(self, cfg: Config, ctx: CellContext) -> None:
        gpus = cfg.backend.gpus_per_actor
        if ctx.device.type == "cuda" and not gpus:
            raise UserError("config key 'backend.gpus_per_actor': the grid trains on "
                            f"{ctx.device}, but Ray actors see a GPU only when they ask for one "
                            "(e.g. backend.gpus_per_actor=0.5: two actors per GPU)")
        # start_ray first: it imports Ray with the switches that keep a local Ray on loopback,
        # which an earlier plain import would have read without them
        self.owns_ray = start_ray(cfg.backend.address, cfg.backend.workers or None)
        ray = import_ray()
        self.ray, self.grid = ray, ctx.grid
        grid = ctx.grid
        workers = actor_count(ray.cluster_resources(), cfg.backend.workers, gpus, grid.size)
        # Ray makes an actor's GPU(s) its only visible ones, so "cuda" is the actor's own GPU
        device = "cuda" if gpus else "cpu"
        remote = ray.remote(num_cpus=1, num_gpus=gpus, max_restarts=-1,
                            max_task_retries=-1)(CellWorker)
        # held for the backend's life: a restarted actor is created again from these arguments
        self.dataset_ref = ray.put(dataset_to_wire(ctx.dataset))
        scorer = ctx.scorer.reference()
        self.actors = [remote.remote(to_dict(cfg), 1, self.dataset_ref, scorer, device)
                       for _ in range(workers)]
        self.assignment = [list(range(grid.size))[i::workers] for i in range(workers)]

    def generation(self, states: dict[int, CellState], generation: int
                   ) -> tuple[dict[int, CellState], int]:
        # each cell's state enters the object store once, however many actors read it
        put = {c: self.ray.put(to_wire(s)) for c, s in states.items()}
        refs, moved = [], 0
        for actor, cells in zip(self.actors, self.assignment):
            needed = {h for c in cells for h in self.grid.neighbours(c)}
            moved += sum(state_bytes(states[h]) for h in needed)
            refs.append(actor.evolve.remote(cells, generation, {h: put[h] for h in sorted(needed)}))
        out: dict[int, CellState] = {}
        for part in self.ray.get(refs):
            part = from_wire(part)
            moved += state_bytes(part)
            out.update(part)
        return dict(sorted(out.items())), moved

    def actor_info(self) -> list[dict[str, Any]]:
        """pid and node address of each actor (tests kill one; the local node is 127.0.0.1)."""
        return self.ray.get([a.info.remote() for a in self.actors])

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self.owns_ray:
            self.ray.shutdown()
