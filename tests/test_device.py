"""Devices named, validated and recorded; a run opened on another device than it trained on."""
import pytest
import yaml

import genarena
from genarena.config import load_config
from genarena.errors import UserError

TINY = {"steps": 20, "model.g_hidden": [16], "model.d_hidden": [16], "eval.n_samples": 200,
        "log.interval": 10, "log.checkpoint_interval": 10}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return genarena.train("ring8-nsgan", out=tmp_path_factory.mktemp("dev") / "r", overrides=TINY)


def test_summary_names_the_device_it_trained_on(run):
    assert run.summary["device"] == "cpu" and run.summary["device_name"]


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:1"])
def test_device_names_validate(name):
    assert load_config("ring8-nsgan", {"device": name}).device == name


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:x", "cpu:0 "])
def test_other_device_names_are_refused_naming_the_key(name):
    with pytest.raises(UserError, match="config key 'device'"):
        load_config("ring8-nsgan", {"device": name})


def _as_if_trained_on(run, tmp_path, device):
    """A copy of the run whose config.yaml says it trained on `device` (its checkpoint holds CPU
    tensors, as every checkpoint does: they are loaded with map_location=cpu)."""
    import shutil
    copy = tmp_path / "moved"
    shutil.copytree(run.path, copy)
    cfg = yaml.safe_load((copy / "config.yaml").read_text())
    cfg["device"] = device
    (copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    return copy


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_a_cuda_run_opens_on_the_cpu_when_asked(run, tmp_path, cli):
    moved = _as_if_trained_on(run, tmp_path, "cuda:1")
    code, _, err = cli("eval", moved, "--n", "200")
    assert code == 2 and "device=cpu" in err                 # the way out is in the message
    code, out, err = cli("eval", moved, "--n", "200", "device=cpu")
    assert code == 0, err
    assert "swd" in out
    assert cli("sample", moved, "device=cpu", "--n", "10", "--out", tmp_path / "s.npz")[0] == 0
    code, _, err = cli("eval", moved, "steps=3")
    assert code == 2 and "only device" in err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_a_cuda_run_resumes_on_the_cpu(run, tmp_path):
    moved = _as_if_trained_on(run, tmp_path, "cuda")
    resumed = genarena.train(resume=moved, overrides={"device": "cpu", "steps": 30})
    assert resumed.summary["steps"] == 30 and resumed.summary["device"] == "cpu"
    assert yaml.safe_load((moved / "config.yaml").read_text())["device"] == "cuda"   # unchanged


def test_batches_are_pinned_only_for_a_cuda_run(monkeypatch):
    """A CPU run's stream allocates ordinary memory (pinning needs CUDA); a CUDA run's asks for
    page-locked buffers, gathered into directly (the CUDA tests check the buffers)."""
    import torch

    from genarena.config import load_config
    from genarena.data import build_dataset
    from genarena.train.vae import VAETrainer
    cfg = load_config("ring8-vae")
    assert not VAETrainer(cfg, build_dataset(cfg.data), torch.device("cpu")).stream.pin_memory
    asked = []
    empty = torch.empty
    monkeypatch.setattr(torch, "empty", lambda *a, pin_memory=False, **k:
                        asked.append(pin_memory) or empty(*a, **k))
    digits = build_dataset(load_config("digits-gan").data)
    x, y = digits.stream(16, seed=0, pin_memory=True).next()
    plain_x, plain_y = digits.stream(16, seed=0).next()
    assert asked == [True, True] and torch.equal(x, plain_x) and torch.equal(y, plain_y)
