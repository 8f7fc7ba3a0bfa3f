"""The worker-process backend: results identical to sequential, and a killed worker restarts."""
import os
import signal
import threading

import pytest
import torch
from helpers import COEVOLUTION_SMALL as SMALL
from helpers import assert_backend_matches_sequential

from genarena.coevolution.backends import build_backend
from genarena.coevolution.backends.processes import ProcessBackend
from genarena.coevolution.backends.sequential import SequentialBackend
from genarena.coevolution.cell import CellContext
from genarena.coevolution.trainer import CoevolutionTrainer
from genarena.config import load_config
from genarena.data import build_dataset


@pytest.mark.slow
def test_processes_and_sequential_give_identical_results_on_a_2x2_grid(tmp_path):
    assert_backend_matches_sequential(tmp_path, "processes")


@pytest.mark.slow
def test_auto_spreads_cells_over_cores_only_when_there_are_several_of_each():
    cfg = load_config("ring8-mustangs", {**SMALL, "backend.name": "auto", "backend.workers": 2})
    backend = build_backend(cfg, CellContext(cfg))
    try:
        assert isinstance(backend, ProcessBackend) and len(backend.pids()) == 2
    finally:
        backend.close()
    one = load_config(cfg, {"backend.workers": 1})
    assert isinstance(build_backend(one, CellContext(one)), SequentialBackend)
    single = load_config(cfg, {"coevolution.rows": 1, "coevolution.cols": 1})
    assert isinstance(build_backend(single, CellContext(single)), SequentialBackend)


@pytest.mark.slow
def test_a_killed_worker_restarts_and_the_generation_completes():
    cfg = load_config("ring8-mustangs", {**SMALL, "steps": 240, "coevolution.batches_per_gen": 60,
                                         "backend.name": "processes", "backend.workers": 2})
    dataset = build_dataset(cfg.data)
    trainer = CoevolutionTrainer(cfg, dataset, torch.device("cpu"))
    reference = CoevolutionTrainer(load_config(cfg, {"backend.name": "sequential"}), dataset,
                                   torch.device("cpu"))
    try:
        trainer.train_step()
        # kill one worker between generations and another while a generation is running
        os.kill(trainer.backend.pids()[0], signal.SIGKILL)
        trainer.train_step()
        timer = threading.Timer(0.3, os.kill, (trainer.backend.pids()[1], signal.SIGKILL))
        timer.start()
        trainer.train_step()
        timer.join()
        trainer.train_step()
    finally:
        trainer.close()
    assert trainer.generation == 4 and all(s["generation"] == 4 for s in trainer.states.values())
    for _ in range(4):
        reference.train_step()
    assert [s["score"] for s in trainer.states.values()] == \
        [s["score"] for s in reference.states.values()]


def test_ray_starts_no_more_cell_actors_than_its_gpus_hold():
    """With 0.25 GPU per actor on a 16-CPU, 1-GPU node, 4 actors (not 16, of which 12 would
    never be scheduled and the generation would wait forever)."""
    from genarena.coevolution.backends.ray import actor_count
    from genarena.errors import UserError
    node = {"CPU": 16.0, "GPU": 1.0}
    assert actor_count(node, 0, 0.25, cells=16) == 4
    assert actor_count(node, 0, 0.0, cells=16) == 16            # CPU actors: one per CPU
    assert actor_count(node, 2, 0.25, cells=16) == 2            # backend.workers still caps
    assert actor_count({"CPU": 16.0, "GPU": 2.0}, 0, 0.5, cells=3) == 3   # and the cells do
    with pytest.raises(UserError, match="backend.gpus_per_actor"):
        actor_count({"CPU": 16.0}, 0, 0.5, cells=9)


def test_a_grid_on_a_gpu_runs_in_one_process_by_default():
    from genarena.coevolution.backends import worker_processes
    assert worker_processes(0, "cpu", cells=9, cores=4) == 4           # one per core
    assert worker_processes(0, "cuda", cells=9, cores=16) == 1         # one per GPU, not core
    assert worker_processes(0, "cuda:1", cells=9, cores=16) == 1
    assert worker_processes(3, "cuda", cells=9, cores=16) == 3         # as configured
    assert worker_processes(0, "cpu", cells=2, cores=8) == 2           # never more than cells


def test_a_worker_trains_under_the_runs_switches():
    """trainer.deterministic (and TF32, cuDNN benchmark) reach the worker processes: a worker
    serves its requests with the run's switches set, and leaves them as it found them."""
    import pickle

    import torch

    from genarena.coevolution.backends.processes import serve
    from genarena.coevolution.cell import CellContext
    from genarena.config import load_config, to_dict
    cfg = load_config("ring8-mustangs", {"trainer.deterministic": True,
                                          "coevolution.score_samples": 64})
    setup = pickle.dumps((to_dict(cfg), CellContext(cfg).scorer.reference(), "cpu"))
    seen = []

    class Conn:
        def __init__(self):
            self.inbox = [setup, pickle.dumps(([], 0, {}))]

        def recv_bytes(self):
            if not self.inbox:
                raise EOFError
            return self.inbox.pop(0)

        def send_bytes(self, data):
            seen.append(torch.are_deterministic_algorithms_enabled())

    before = torch.are_deterministic_algorithms_enabled()
    serve(Conn())
    assert seen == [True] and torch.are_deterministic_algorithms_enabled() == before
