"""`genarena sweep`: many runs in parallel processes, each equal to its `genarena train`, that
survive a killed sweep and a killed worker."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import assert_user_error, last_logged_step

import genarena
from genarena.config import parse_override
from genarena.errors import UserError
from genarena.sweep import parse_seeds

RUN = ["steps=300", "model.g_hidden=[32]", "model.d_hidden=[32]", "eval.n_samples=300",
       "log.interval=50", "log.checkpoint_interval=50"]


def _straight(tmp_path, seed, steps=300):
    over = dict(parse_override(a) for a in RUN)
    over.update({"seed": seed, "steps": steps})
    return genarena.train("ring8-nsgan", out=tmp_path / f"straight-{seed}-{steps}",
                          overrides=over)


def _metrics(path):
    return json.loads((path / "summary.json").read_text())["metrics"]


@pytest.mark.slow
def test_a_sweep_gives_each_seed_the_run_train_gives(tmp_path, cli):
    code, out, err = cli("sweep", "ring8-nsgan", *RUN, "--seeds", "0-1", "--workers", "2",
                         "--out", tmp_path / "sw")
    assert code == 0, err
    for seed in (0, 1):
        assert _metrics(tmp_path / "sw" / f"ring8-nsgan-s{seed}") == \
            _straight(tmp_path, seed).summary["metrics"]
    assert "ring8-nsgan-s1" in out
    code, table, _ = cli("compare", tmp_path / "sw")          # the sweep's folder stands for its runs
    assert code == 0 and "ring8-nsgan-s0" in table and "ring8-nsgan-s1" in table
    # a second call reuses the finished runs
    before = (tmp_path / "sw" / "ring8-nsgan-s0" / "summary.json").stat().st_mtime_ns
    assert cli("sweep", "ring8-nsgan", *RUN, "--seeds", "0-1", "--out", tmp_path / "sw")[0] == 0
    assert (tmp_path / "sw" / "ring8-nsgan-s0" / "summary.json").stat().st_mtime_ns == before


@pytest.mark.slow
def test_vary_makes_one_run_per_value_and_names_it(tmp_path, cli):
    code, _, err = cli("sweep", "ring8-nsgan", *RUN, "steps=20", "--vary", "optim.lr_g=1e-3,5e-4",
                       "--workers", "2", "--out", tmp_path / "sw")
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "sw").iterdir())
    assert names == ["ring8-nsgan-s0-optim.lr_g=1e-3", "ring8-nsgan-s0-optim.lr_g=5e-4"]  # as typed


def test_bad_input_is_one_error_line(tmp_path, cli):
    assert_user_error(cli("sweep", "ring8-nsgan", "--seeds", "x", "--out", tmp_path), "--seeds")
    assert_user_error(cli("sweep", "ring8-nsgan", "optim.lr_g=-1", "--out", tmp_path),
                      "optim.lr_g")
    with pytest.raises(UserError):
        parse_seeds("3-1")


@pytest.mark.slow
def test_a_larger_budget_extends_finished_runs_and_a_smaller_one_is_refused(tmp_path, cli):
    out = tmp_path / "sw"
    assert cli("sweep", "ring8-nsgan", *RUN, "steps=150", "--workers", "1", "--out", out)[0] == 0
    short_final = _metrics(out / "ring8-nsgan-s0")
    code, _, err = cli("sweep", "ring8-nsgan", *RUN, "--workers", "1", "--out", out)   # 300
    assert code == 0, err
    assert_user_error(cli("sweep", "ring8-nsgan", *RUN, "steps=100", "--out", out),
                      "longer run (steps=300)", "--replace")
    # the run continued from its 150-step checkpoint: the same as 300 steps straight
    assert _metrics(out / "ring8-nsgan-s0") == _straight(tmp_path, 0).summary["metrics"]
    rows = [json.loads(line) for line in (out / "ring8-nsgan-s0" / "metrics.jsonl").open()]
    extended = [r for r in rows if r.get("event") == "extended"]
    assert len(extended) == 1 and extended[0]["step"] == 150
    assert extended[0]["eval"] == short_final      # the short run's final point stays on the curve


def _sweep_process(out, steps):
    args = [a if not a.startswith("steps=") else f"steps={steps}" for a in RUN]
    return subprocess.Popen([sys.executable, "-m", "genarena", "sweep", "ring8-nsgan", *args,
                             "--seeds", "0-1", "--workers", "2", "--out", str(out)],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(condition, seconds=120):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition()


@pytest.mark.slow
def test_a_killed_sweep_resumes_to_the_same_results(tmp_path, cli):
    out = tmp_path / "sw"
    proc = _sweep_process(out, 2000)
    _wait_for(lambda: last_logged_step(out / "ring8-nsgan-s0") >= 300)
    os.killpg(proc.pid, signal.SIGKILL)                 # the sweep and its workers, at once
    proc.wait()
    assert not (out / "ring8-nsgan-s0" / "summary.json").exists()
    code, _, err = cli("sweep", "ring8-nsgan", *RUN, "steps=2000", "--seeds", "0-1",
                       "--workers", "2", "--out", out)
    assert code == 0, err
    for seed in (0, 1):
        assert _metrics(out / f"ring8-nsgan-s{seed}") == \
            _straight(tmp_path, seed, 2000).summary["metrics"]


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_the_sweep_completes(tmp_path):
    out = tmp_path / "sw"
    proc = _sweep_process(out, 2000)
    _wait_for(lambda: last_logged_step(out / "ring8-nsgan-s1") >= 300)
    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                             text=True).stdout.split()
    assert workers
    for pid in workers:
        os.kill(int(pid), signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert _metrics(out / "ring8-nsgan-s1") == _straight(tmp_path, 1, 2000).summary["metrics"]


@pytest.mark.xdist_group("ray")
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="the ray extra is not installed")
@pytest.mark.slow
def test_runs_as_ray_tasks_give_the_same_results(tmp_path, cli):
    """--address local: each run is a Ray task on a Ray kept on 127.0.0.1; same summaries.
    (Ray is not imported here first: an early import reads its node-address switch too soon.)"""
    code, _, err = cli("sweep", "ring8-nsgan", *RUN, "steps=100", "--seeds", "0-1", "--address",
                       "local", "--out", tmp_path / "sw")
    assert code == 0, err
    for seed in (0, 1):
        assert _metrics(tmp_path / "sw" / f"ring8-nsgan-s{seed}") == \
            _straight(tmp_path, seed, 100).summary["metrics"]


def test_local_runs_spread_over_the_gpus_and_ray_tasks_ask_for_one(tmp_path, monkeypatch):
    """Placement without a GPU in sight: local runs that may use one (device cuda or auto) go to
    the least loaded GPU through CUDA_VISIBLE_DEVICES; a pinned cuda:N or a cpu run is left
    alone; a Ray task asks the cluster for a GPU when it has some."""
    from genarena import sweep
    from genarena.reuse import Fresh
    started = []
    monkeypatch.setattr(sweep, "LocalRun", lambda args, threads, log, gpu: started.append(gpu))
    jobs = [sweep.Job(f"j{i}", tmp_path / f"j{i}", {"device": device}, "ring8-nsgan")
            for i, device in enumerate(("auto", "cuda", "auto", "cpu", "cuda:1"))]
    running: list = []
    for job in jobs:
        sweep._start(job, Fresh(), 1, running=running, gpus=2)
        running.append(job)
    assert [j.gpu for j in jobs] == [0, 1, 0, None, None]
    assert sweep.least_loaded_gpu(running, 3) == 2

    class FakeRay:
        def __init__(self, gpus):
            self.gpus, self.asked = gpus, []

        def cluster_resources(self):
            return {"CPU": 4, "GPU": self.gpus}

        def remote(self, **options):
            self.asked.append(options["num_gpus"])
            return lambda fn: type("Task", (), {"remote": staticmethod(lambda *a: "ref")})
    for gpus, expected in ((2, [1, 0]), (0, [0, 0])):
        ray = FakeRay(gpus)
        for job in (jobs[0], jobs[3]):                   # auto, then cpu
            sweep._start(job, Fresh(), 1, ray)
        assert ray.asked == expected
