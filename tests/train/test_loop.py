"""The shared training loop: exact resume after SIGKILL, and the divergence guard."""
import json
import math
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import FAST, assert_user_error, last_logged_step, metric_rows, train_then_kill

import genarena
from genarena.cli import main
from genarena.errors import DivergenceError
from genarena.train.pair import PairTrainer

RESUME = {**FAST, "steps": 400, "model.g_hidden": [128, 128], "model.d_hidden": [128],
          "data.batch_size": 256, "log.checkpoint_interval": 50, "eval.interval": 100,
          "trainer.ema_half_life": 5000.0}


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    killed = tmp_path / "killed"
    train_then_kill("grid25-nsgan", RESUME, killed, after_step=120)

    resumed = genarena.train(resume=killed)
    straight = genarena.train("grid25-nsgan", out=tmp_path / "straight", **{
        k.replace(".", "__"): v for k, v in RESUME.items()})
    assert resumed.summary["metrics"] == straight.summary["metrics"]
    assert metric_rows(killed) == metric_rows(tmp_path / "straight")


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    run = genarena.train("ring8-nsgan", out=tmp_path / "r", **{k.replace(".", "__"): v
                                                                for k, v in FAST.items()})
    before = run.summary["metrics"]
    assert genarena.train(resume=run.path).summary["metrics"] == before


def test_nan_rolls_back_to_the_last_checkpoint_and_halves_learning_rates(tmp_path, monkeypatch):
    original = PairTrainer.g_phase
    fired = []

    def flaky(self):
        stats = original(self)
        if self.step == 29 and not fired:       # the 30th step produces NaN once
            fired.append(True)
            stats["loss_g"] = math.nan
        return stats

    monkeypatch.setattr(PairTrainer, "g_phase", flaky)
    rows, events = _rolled_back_once(tmp_path)
    assert events[0]["lr_g"] == pytest.approx(FAST_LR / 2)
    assert rows[-1]["step"] == FAST["steps"] and rows[-1]["lr_d"] == pytest.approx(FAST_LR / 2)
    steps = [r["step"] for r in rows if "event" not in r]
    assert steps == sorted(steps) and len(steps) == len(set(steps))


FAST_LR = 1e-3


def _rolled_back_once(tmp_path) -> tuple[list[dict], list[dict]]:
    """Train the FAST ring8 run; check it rolled back once, to step 20, for loss_g; return its
    metrics rows and its divergence events."""
    run = genarena.train("ring8-nsgan", out=tmp_path / "r", **{k.replace(".", "__"): v
                                                                for k, v in FAST.items()})
    assert run.summary["divergence_retries"] == 1
    rows = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    events = [r for r in rows if r.get("event") == "diverged"]
    assert len(events) == 1 and events[0]["step"] == 20 and events[0]["non_finite"] == ["loss_g"]
    return rows, events


def _device_style(monkeypatch, nan_at: int | None = None) -> None:
    """G's loss returned as a float64 tensor, as a GPU step leaves it (unread, on the device);
    NaN once at step `nan_at`."""
    original, fired = PairTrainer.g_phase, []

    def on_device(self):
        stats = original(self)
        value = math.nan if self.step == nan_at and not any(fired) else stats["loss_g"]
        fired.append(self.step == nan_at)
        return {**stats, "loss_g": torch.tensor(value, dtype=torch.float64)}
    monkeypatch.setattr(PairTrainer, "g_phase", on_device)


def test_statistics_left_on_the_device_log_what_floats_log(tmp_path, monkeypatch):
    args = {k.replace(".", "__"): v for k, v in FAST.items()}
    floats = genarena.train("ring8-nsgan", out=tmp_path / "f", **args)
    _device_style(monkeypatch)
    tensors = genarena.train("ring8-nsgan", out=tmp_path / "t", **args)
    assert metric_rows(tmp_path / "t") == metric_rows(tmp_path / "f")
    assert tensors.summary["metrics"] == floats.summary["metrics"]


def test_a_nan_left_on_the_device_rolls_back_when_the_meter_is_read(tmp_path, monkeypatch):
    """The loop does not read a device statistic at every step; the NaN is found at the next log
    or checkpoint, before anything is written, and rolls back as a host NaN does."""
    _device_style(monkeypatch, nan_at=24)
    rows, _ = _rolled_back_once(tmp_path)
    assert all(math.isfinite(r["loss_g"]) for r in rows if "loss_g" in r)
    assert rows[-1]["step"] == FAST["steps"]


def test_persistent_divergence_stops_with_exit_1(tmp_path, capsys):
    args = [f"{k}={v}" for k, v in FAST.items()]
    code = main(["train", "ring8-nsgan", *args, "optim.name=sgd", "optim.lr_g=1e30",
                 "optim.lr_d=1e30", "trainer.max_retries=2", "--out", str(tmp_path / "r"),
                 "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("error: training diverged") and "\n" not in err
    rows = (tmp_path / "r" / "metrics.jsonl").read_text()
    assert rows.count('"event": "diverged"') == 2


def test_divergence_error_from_the_api(tmp_path):
    with pytest.raises(DivergenceError, match="diverged"):
        genarena.train("ring8-nsgan", out=tmp_path / "r", optim__name="sgd", optim__lr_g=1e30,
                       optim__lr_d=1e30, trainer__max_retries=0,
                       **{k.replace(".", "__"): v for k, v in FAST.items()})


def test_resume_refuses_overrides(tmp_path, capsys):
    assert_user_error((main(["train", "ring8-nsgan", "--resume", str(tmp_path)]), "",
                       capsys.readouterr().err), "--resume")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.slow
def test_a_signal_saves_a_checkpoint_and_resume_finishes_as_if_uninterrupted(tmp_path, sig):
    cfg = {**RESUME, "log.checkpoint_interval": 1000}      # only the signal writes a checkpoint
    killed = tmp_path / "killed"
    args = [f"{k}={v}" for k, v in cfg.items()]
    proc = subprocess.Popen([sys.executable, "-m", "genarena", "train", "grid25-nsgan", *args,
                             "--out", str(killed), "--quiet"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while last_logged_step(killed) < 130 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert f"genarena train --resume {killed.resolve()}" in err and len(err.splitlines()) == 1
    assert (killed / "checkpoints" / "last.pt").exists() and not (killed / "summary.json").exists()
    stopped_at = torch.load(killed / "checkpoints" / "last.pt", weights_only=True)["step"]
    assert 130 <= stopped_at < cfg["steps"]

    resumed = genarena.train(resume=killed)
    straight = genarena.train("grid25-nsgan", out=tmp_path / "straight", **{
        k.replace(".", "__"): v for k, v in cfg.items()})
    assert resumed.summary["metrics"] == straight.summary["metrics"]
    assert metric_rows(killed) == metric_rows(tmp_path / "straight")


def test_resume_with_steps_extends_a_finished_run(tmp_path, cli):
    short = {**FAST, "steps": 40}
    args = [f"{k}={v}" for k, v in short.items()]
    code, _, err = cli("train", "ring8-nsgan", *args, "--out", tmp_path / "r", "--quiet")
    assert code == 0, err
    code, _, err = cli("train", "--resume", tmp_path / "r", "steps=60", "--quiet")
    assert code == 0, err
    extended = genarena.load_run(tmp_path / "r")
    straight = genarena.train("ring8-nsgan", out=tmp_path / "straight", **{
        k.replace(".", "__"): v for k, v in {**short, "steps": 60}.items()})
    assert extended.summary["steps"] == 60 and extended.config.steps == 60
    assert extended.summary["extensions"] == [{"step": 40, "event": "extended", "from_steps": 40,
                                               "to_steps": 60}]
    assert extended.summary["metrics"] == straight.summary["metrics"]
    rows = [r for r in metric_rows(tmp_path / "r") if r.get("event") != "extended"]
    assert rows == metric_rows(tmp_path / "straight")
    assert_user_error(cli("train", "--resume", tmp_path / "r", "optim.lr_g=1"), "optim.lr_g")
    assert_user_error(cli("train", "--resume", tmp_path / "r", "steps=10"), "steps", "60")
