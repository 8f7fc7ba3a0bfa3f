"""One model on several processes (`genarena train --nproc N`): the ranks' steps are the step of
one process on the same global batch, rank 0 alone writes the run, and a checkpoint of N ranks
resumes on any number of processes."""
import json
import subprocess
import sys

import pytest
import torch

from genarena.cli import build_parser, rank_argv
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.distributed import SINGLE, World
from genarena.train.pair import PairTrainer

RUN = ["steps=20", "log.interval=1", "log.checkpoint_interval=10", "eval.n_samples=300",
       "data.batch_size=256"]


def _train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genarena", "train", *args, "--quiet"],
                          capture_output=True, text=True, timeout=300)


def _losses(run_dir) -> dict[int, tuple[float, float]]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: (r["loss_g"], r["loss_d"]) for r in rows if "loss_g" in r}


def test_a_world_of_one_changes_nothing():
    x = torch.arange(12.0).reshape(6, 2)
    assert SINGLE.shard(x) is x
    assert SINGLE.mean({"a": 1.5}) == {"a": 1.5}
    assert SINGLE.any(True) and not SINGLE.any(False)


def test_ranks_take_contiguous_equal_slices_of_the_global_batch():
    x = torch.arange(12.0).reshape(6, 2)
    parts = [World(rank=r, size=3).shard(x) for r in range(3)]
    assert torch.equal(torch.cat(parts), x) and all(len(p) == 2 for p in parts)


def test_joining_a_second_world_replaces_the_gradient_averaging_hooks(monkeypatch):
    """A trainer moved into another world averages each gradient once, not once per world."""
    monkeypatch.setattr(World, "broadcast", lambda self, module: None)   # no process group here
    trainer = PairTrainer(load_config("ring8-nsgan", {}), build_dataset(load_config("ring8-nsgan").data),
                          torch.device("cpu"))
    param = next(trainer.g.parameters())
    trainer.data_parallel(World(rank=0, size=2))
    assert len(param._post_accumulate_grad_hooks) == 1
    trainer.data_parallel(World(rank=0, size=2))
    assert len(param._post_accumulate_grad_hooks) == 1
    trainer.data_parallel(World(rank=0, size=1))            # back to one process: none at all
    assert not param._post_accumulate_grad_hooks


def test_each_rank_runs_the_command_it_was_given_less_nproc():
    args = build_parser().parse_args(["train", "ring8-nsgan", "steps=20", "--nproc", "2",
                                      "--out", "o", "-vv"])
    assert rank_argv(args) == ["train", "ring8-nsgan", "steps=20", "--out", "o", "-v", "-v"]


@pytest.mark.slow
def test_two_gloo_ranks_train_as_one_process_and_resume_in_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for out, extra in ((one, []), (two, ["--nproc", "2"])):
        proc = _train("ring8-nsgan", *RUN, "--out", str(out), *extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
    # only rank 0 wrote: one run directory, one summary, naming both processes
    assert json.loads((two / "summary.json").read_text())["processes"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]
    single, ranks = _losses(one), _losses(two)
    assert sorted(ranks) == list(range(1, 21))
    for step in range(1, 21):            # mean over two half batches = mean over the batch
        assert ranks[step] == pytest.approx(single[step], rel=1e-4, abs=1e-5), step
    # the 2-process checkpoint continues in one process, as the 1-process run does
    for out in (one, two):
        proc = _train("--resume", str(out), "steps=30")
        assert proc.returncode == 0, proc.stderr[-3000:]
    single, resumed = _losses(one), _losses(two)
    assert sorted(resumed) == list(range(1, 31))
    for step in range(21, 31):
        assert resumed[step] == pytest.approx(single[step], rel=1e-3, abs=1e-4), step
    assert json.loads((two / "summary.json").read_text())["processes"] == 1


@pytest.mark.slow
def test_two_gloo_ranks_of_mspg_sen_with_r1_and_a_balancer_train_as_one_process(tmp_path):
    """MSPG-SEN with lazy R1 and the DQN balancer deciding every 5 steps (on statistics and a
    quality proxy averaged over the ranks): 2 processes log the losses of 1, step by step. The
    terms that couple a batch's samples (feature matching, InfoNCE, D_aux's packs) are off: under
    --nproc they see each rank's slice (docs/gpus-and-clusters.md), so they differ by design."""
    run = ["steps=20", "log.interval=1", "log.checkpoint_interval=10", "eval.n_samples=300",
           "data.batch_size=256", "loss.r1_gamma=1.0", "loss.r1_interval=4",
           "controller.interval=5", "controller.quality_samples=256", "mspg.fm_weight=0",
           "mspg.con_weight=0", "mspg.aux_weight=0"]
    one, two = tmp_path / "one", tmp_path / "two"
    for out, extra in ((one, []), (two, ["--nproc", "2"])):
        proc = _train("ring8-mspg-dqn", *run, "--out", str(out), *extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
    single, ranks = _losses(one), _losses(two)
    assert sorted(ranks) == list(range(1, 21))
    for step in range(1, 21):
        assert ranks[step] == pytest.approx(single[step], rel=1e-4, abs=1e-5), step


@pytest.mark.parametrize("args, message", [
    (["ring8-mustangs", "--nproc", "2"], "--nproc: trainer 'coevolution' trains in one process"),
    (["ring8-nsgan", "data.batch_size=255", "--nproc", "2"],
     "config key 'data.batch_size': 255 does not split evenly over --nproc 2"),
    (["ring8-nsgan", "--nproc", "0"], "--nproc: expected a positive number"),
    (["ring8-nsgan", "model.pack=4", "data.batch_size=8", "--nproc", "4"],
     "config key 'model.pack': each of the 4 processes gets 2 samples"),
    (["ring8-mspg", "mspg.aux_pack=4", "data.batch_size=8", "--nproc", "4"],
     "config key 'mspg.aux_pack': each of the 4 processes gets 2 samples"),
    (["ring8-nsgan", "device=cuda:1", "--nproc", "2"],
     "config key 'device': cuda:1 names one GPU"),
])
def test_a_run_that_cannot_be_split_is_refused_before_any_rank_starts(tmp_path, args, message):
    proc = _train(*args, "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (tmp_path / "r").exists()


def test_several_ranks_on_cuda_need_a_gpu_each(monkeypatch):
    from genarena.api import check_trainer_support
    from genarena.errors import UserError
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    cfg = load_config("ring8-nsgan", {"device": "cuda"})
    with pytest.raises(UserError, match="--nproc: 2 processes on CUDA need a GPU each; this machine has 1"):
        check_trainer_support(cfg, 2)
    check_trainer_support(cfg, 1)                               # one process, one GPU: fine
    check_trainer_support(load_config("ring8-nsgan", {"device": "cpu"}), 2)


@pytest.mark.slow
def test_ctrl_c_at_the_terminal_stops_every_rank_with_a_checkpoint(tmp_path):
    """A terminal's Ctrl-C reaches the launcher and its ranks alike (one process group): the
    ranks leave it to the launcher, whose one SIGTERM each stops them at a step with the
    checkpoint a resume needs (none is due otherwise: the interval is beyond the run)."""
    import os
    import signal
    import time

    from genarena.run import RunDir
    out = tmp_path / "r"
    proc = subprocess.Popen(
        [sys.executable, "-m", "genarena", "train", "ring8-nsgan", "steps=100000",
         "log.interval=10", "log.checkpoint_interval=1000000", "data.batch_size=256",
         "eval.n_samples=300", "--nproc", "2", "--out", str(out), "--quiet"],
        start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600           # a loaded machine starts two ranks slowly
        while not (out / "metrics.jsonl").exists() or len(
                (out / "metrics.jsonl").read_text().splitlines()) < 3:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)              # what the terminal sends: the group
        _, err = proc.communicate(timeout=120)
    finally:                                # a failed wait must not leave the ranks training on
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0 and "checkpoint saved" in err, err
    assert RunDir(out).load_checkpoint()["step"] >= 30
