"""Train for real and check outcomes: ring8 modes captured; a collapsed generator scores 1 mode."""
import pytest
import torch

import genarena
from genarena.checkpoint import load_checkpoint, save_checkpoint


@pytest.mark.slow
def test_ring8_nsgan_captures_the_modes(tmp_path):
    run = genarena.train("ring8-nsgan", out=tmp_path / "ring8")
    m = run.summary["metrics"]
    assert m["modes_captured"] >= 6, m
    assert m["high_quality_fraction"] >= 0.8, m
    assert m["reverse_kl"] < 0.7, m


def test_collapsed_generator_scores_one_mode(tmp_path):
    run = genarena.train("ring8-nsgan", out=tmp_path / "r", steps=5, eval__n_samples=100,
                         log__checkpoint_interval=5)
    ckpt = run.dir.last_checkpoint
    state = load_checkpoint(ckpt)
    g = state["trainer_state"]["g"]
    last = max(k for k in g if k.endswith(".weight"))
    g[last].zero_()                                           # ignore z entirely ...
    g[last.replace("weight", "bias")].copy_(torch.tensor([0.0, 1.0]))   # ... and sit on one mode
    save_checkpoint(state, ckpt)
    m = genarena.load_run(run.path).evaluate(2500)
    assert m["modes_captured"] == 1 and m["high_quality_fraction"] == 1.0
    assert m["reverse_kl"] == pytest.approx(torch.log(torch.tensor(8.0)).item())
