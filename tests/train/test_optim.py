"""Optimizer helpers: learning-rate decay factors and lr changes that really apply."""
import math

import pytest
import torch

from genarena.config import load_config
from genarena.data import build_dataset
from genarena.train.diffusion import DiffusionTrainer
from genarena.train.optim import lr_factor


def test_cosine_factor_known_values():
    assert lr_factor("cosine", 0, 100) == 1.0
    assert lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert lr_factor("cosine", 25, 100) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor("cosine", 100, 100) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor("cosine", 150, 100) == pytest.approx(0.0, abs=1e-12)   # clamped past the end


def test_no_decay_is_constant():
    assert {lr_factor("none", k, 10) for k in range(12)} == {1.0}
    assert lr_factor("cosine", 3, 0) == 1.0
    with pytest.raises(ValueError, match="linear"):
        lr_factor("linear", 1, 10)


def test_the_classifier_lr_follows_the_cosine_and_the_score_lr_does_not():
    cfg = load_config("moons-dlsm-ce", {"steps": 3, "guidance.classifier_steps": 4,
                                        "model.g_hidden": [16], "model.d_hidden": [16]})
    trainer = DiffusionTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))
    seen = []
    for _ in range(7):
        trainer.train_step()
        seen.append((trainer.opt.param_groups[0]["lr"], trainer.opt_clf.param_groups[0]["lr"]))
    lr = cfg.optim.lr_d
    assert [g for g, _ in seen] == [cfg.optim.lr_g] * 7
    assert [c for _, c in seen[3:]] == pytest.approx([lr * lr_factor("cosine", k, 4) for k in range(4)])
