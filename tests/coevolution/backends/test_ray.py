"""The Ray backend: loopback only, results identical to sequential, and a killed actor restarts."""
import importlib.util
import os
import signal
import subprocess
import threading
import time

import pytest
import torch
from helpers import COEVOLUTION_SMALL as SMALL
from helpers import as_kwargs, assert_backend_matches_sequential

import genarena
from genarena.cluster import start_ray
from genarena.coevolution.trainer import CoevolutionTrainer
from genarena.config import load_config
from genarena.data import build_dataset

pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="the ray extra is not installed"),
              pytest.mark.xdist_group("ray")]


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (2 CPUs, like CI), shut down at the end."""
    started = start_ray("", num_cpus=2)
    import ray
    yield ray
    if started:
        ray.shutdown()


def test_local_ray_stays_on_loopback(local_ray):
    nodes = local_ray.nodes()
    assert nodes and all(n["NodeManagerAddress"] == "127.0.0.1" for n in nodes)


def test_ray_and_sequential_give_identical_results_on_a_2x2_grid(local_ray, tmp_path):
    assert_backend_matches_sequential(tmp_path, "ray")


def test_a_killed_actor_restarts_and_the_generation_completes(local_ray):
    cfg = load_config("ring8-mustangs", {**SMALL, "steps": 240, "coevolution.batches_per_gen": 60,
                                         "backend.name": "ray", "backend.workers": 2})
    dataset = build_dataset(cfg.data)
    trainer = CoevolutionTrainer(cfg, dataset, torch.device("cpu"))
    reference = CoevolutionTrainer(load_config(cfg, {"backend.name": "sequential"}), dataset,
                                   torch.device("cpu"))
    trainer.train_step()
    pids = [info["pid"] for info in trainer.backend.actor_info()]
    assert all(info["node_ip"] == "127.0.0.1" for info in trainer.backend.actor_info())
    # Kill one actor between generations and another while a generation is running.
    os.kill(pids[0], signal.SIGKILL)
    trainer.train_step()
    timer = threading.Timer(0.3, os.kill, (pids[1], signal.SIGKILL))
    timer.start()
    trainer.train_step()
    timer.join()
    trainer.train_step()
    assert trainer.generation == 4 and sorted(trainer.states) == [0, 1, 2, 3]
    assert all(s["generation"] == 4 for s in trainer.states.values())
    for _ in range(4):
        reference.train_step()
    # A restarted actor recomputes its cells from the same before-states: nothing changes.
    assert [s["score"] for s in trainer.states.values()] == \
        [s["score"] for s in reference.states.values()]


def _cell_workers() -> list[int]:
    """pids of live Ray actor processes of the cell workers."""
    out = subprocess.run(["pgrep", "-f", "CellWorker"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_a_run_that_fails_mid_generation_leaves_no_actor_behind(local_ray, tmp_path, monkeypatch):
    from genarena.coevolution.backends.ray import RayBackend

    def fail_while_cells_run(self, states, generation):
        for actor, cells in zip(self.actors, self.assignment):     # the cells start training...
            needed = {h: states[h] for c in cells for h in self.grid.neighbours(c)}
            actor.evolve.remote(cells, generation, needed)
        raise RuntimeError("the driver failed mid-generation")      # ...and the driver fails
    monkeypatch.setattr(RayBackend, "generation", fail_while_cells_run)
    with pytest.raises(RuntimeError, match="mid-generation"):
        genarena.train("ring8-mustangs", out=tmp_path / "r",
                       **as_kwargs({**SMALL, "backend.name": "ray", "backend.workers": 2}))
    deadline = time.monotonic() + 30
    while _cell_workers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _cell_workers() == []
    assert local_ray.is_initialized()       # the fixture's Ray is not this run's to stop


def test_a_grid_on_cuda_needs_actors_that_ask_for_gpus():
    from genarena.coevolution.backends.ray import RayBackend
    from genarena.coevolution.cell import CellContext
    from genarena.errors import UserError
    cfg = load_config("ring8-mustangs", {**SMALL, "backend.name": "ray"})
    ctx = CellContext(cfg, build_dataset(cfg.data), device="cuda")   # no GPU is touched
    with pytest.raises(UserError, match="backend.gpus_per_actor"):
        RayBackend(cfg, ctx)
