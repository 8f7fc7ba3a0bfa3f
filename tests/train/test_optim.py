"""Optimizer helpers: learning-rate decay factors and lr changes that really apply."""
import math

import pytest
import torch

from genarena.config import load_config
from genarena.data import build_dataset
from genarena.errors import UserError
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


def _trained(name: str, implementation: str, steps: int = 30) -> list[torch.Tensor]:
    """Parameters after `steps` updates on fixed gradients: genarena's optimizer (`ours`, with
    optim.fused when `fused`) or PyTorch's per-parameter loop (`loop`)."""
    from genarena.config import OptimConfig
    from genarena.train.optim import make_optimizer
    torch.manual_seed(0)
    params = [torch.randn(16, 16).requires_grad_() for _ in range(3)] + \
        [torch.randn(16).requires_grad_()]
    cfg = OptimConfig(name=name, weight_decay=0.01, fused=implementation == "fused")
    if implementation == "loop":
        kind = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
                "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}[name]
        extra = ({"betas": (0.5, 0.999)} if name.startswith("adam")
                 else {"momentum": 0.5} if name == "sgd" else {})
        opt = kind(params, lr=1e-3, weight_decay=0.01, foreach=False, **extra)
    else:
        opt = make_optimizer(cfg, params, 1e-3)
    noise = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=noise)
        opt.step()
    return [p.detach() for p in params]


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "sgd"])
def test_the_multi_tensor_update_is_the_per_parameter_loop_bit_for_bit(name):
    assert all(torch.equal(a, b) for a, b in zip(_trained(name, "ours"), _trained(name, "loop")))


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_the_fused_update_is_within_rounding_of_the_loop(name):
    for a, b in zip(_trained(name, "fused"), _trained(name, "loop")):
        assert torch.allclose(a, b, rtol=0, atol=1e-5)


def test_fused_rmsprop_is_refused_naming_the_key():
    from genarena.config import load_config
    with pytest.raises(UserError, match="config key 'optim.fused'"):
        load_config("ring8-nsgan", {"optim.name": "rmsprop", "optim.fused": True})
