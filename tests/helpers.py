"""Test helpers: a tiny configuration that trains in about a second, error-line checks, and
readers of a run's metrics for resume tests."""
import json
import os
import signal
import subprocess
import sys
import time

FAST = {
    "steps": 40,
    "model.g_hidden": [32, 32], "model.d_hidden": [32],
    "data.batch_size": 64, "eval.n_samples": 256, "eval.interval": 0,
    "log.interval": 10, "log.checkpoint_interval": 20, "backend.threads": 1,
}

# A 2×2 coevolution grid of small nets that runs a generation in well under a second
# (6 generations of 20 generator updates: `steps` counts generator updates).
COEVOLUTION_SMALL = {
    "trainer.name": "coevolution", "steps": 120, "coevolution.rows": 2, "coevolution.cols": 2,
    "coevolution.batches_per_gen": 20, "coevolution.score_samples": 300,
    "data.batch_size": 64, "model.g_hidden": [32, 32], "model.d_hidden": [32, 32],
    "eval.n_samples": 500, "log.interval": 1, "log.checkpoint_interval": 1, "backend.threads": 1,
    "backend.name": "sequential",   # in-process: seconds-long tests; the backends have their own
}


def assert_backend_matches_sequential(tmp_path, backend: str) -> None:
    """A 2×2 Mustangs grid trained on `backend` (2 workers) gives the sequential backend's run:
    the same cells, metrics and samples."""
    import torch

    import genarena
    cfg = {**COEVOLUTION_SMALL, "steps": 60}
    seq = genarena.train("ring8-mustangs", out=tmp_path / "seq", **as_kwargs(cfg))
    other = genarena.train("ring8-mustangs", out=tmp_path / backend,
                           **as_kwargs({**cfg, "backend.name": backend, "backend.workers": 2}))
    assert other.summary["cells"] == seq.summary["cells"]
    assert other.summary["metrics"] == seq.summary["metrics"]
    assert torch.equal(other.sample(200, seed=3), seq.sample(200, seed=3))


def as_kwargs(cfg: dict) -> dict:
    """Dotted config keys as genarena.train keyword arguments ('.' -> '__')."""
    return {k.replace(".", "__"): v for k, v in cfg.items()}


def fast_args(**extra):
    """FAST (plus extras) as command-line overrides."""
    merged = {**FAST, **extra}
    return [f"{k}={v}" for k, v in merged.items()]


def assert_user_error(result: tuple[int, str, str], *fragments: str) -> None:
    """Exit 2 with exactly one stderr line, starting 'error:', naming every fragment."""
    code, _, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])


def metric_rows(run_dir) -> list[dict]:
    """metrics.jsonl rows without their wall-clock field (what must match across a resume)."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for r in rows:
        r.pop("elapsed", None)
    return rows


def last_logged_step(run_dir) -> int:
    """The highest step written to metrics.jsonl so far (0 before the first row)."""
    try:
        return max(json.loads(line)["step"]
                   for line in (run_dir / "metrics.jsonl").read_text().splitlines())
    except (FileNotFoundError, ValueError):
        return 0


def train_then_kill(preset: str, cfg: dict, out, after_step: int) -> None:
    """Run `genarena train` in a real process and SIGKILL it once `after_step` is logged."""
    args = [f"{k}={v}" for k, v in cfg.items()]
    proc = subprocess.Popen([sys.executable, "-m", "genarena", "train", preset, *args,
                             "--out", str(out), "--quiet"])
    deadline = time.monotonic() + 120
    while last_logged_step(out) < after_step and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (out / "summary.json").exists()
