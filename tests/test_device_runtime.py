"""The device discipline, checked while code runs: a guard around training steps, sampling and
evaluation catches every tensor factory that genarena calls without a device (or a generator
whose device it follows), unless the static test's allow-list says why it may stay on the CPU.
On a CPU machine such a tensor is silently right; on a GPU it would be on the wrong device."""
import sys
from pathlib import Path

import pytest
import torch
from test_device_static import ALLOWED, FACTORIES
from torch.overrides import TorchFunctionMode

import genarena
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.generative import sampler_fn
from genarena.metrics import evaluate
from genarena.trainers import get_trainer

SRC = Path(genarena.__file__).parent


class DevicelessFactories(TorchFunctionMode):
    """Records (file, line) of every factory call made from genarena's own code without a
    `device` or `generator` argument."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: set[tuple[str, int]] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in FACTORIES and not {"device", "generator"} & set(kwargs):
            frame = sys._getframe(1)
            while frame is not None and not frame.f_code.co_filename.startswith(str(SRC)) \
                    and "torch" in frame.f_code.co_filename:
                frame = frame.f_back
            if frame is not None and frame.f_code.co_filename.startswith(str(SRC)):
                self.calls.add((Path(frame.f_code.co_filename).relative_to(SRC).as_posix(),
                                frame.f_lineno))
        return func(*args, **kwargs)


def _explained(rel: str, lineno: int) -> bool:
    line = (SRC / rel).read_text().splitlines()[lineno - 1]
    return any(f == rel and source.split("(")[0] in line for f, source in ALLOWED)


@pytest.mark.parametrize("preset, over", [
    ("ring8-nsgan", {}), ("ring8-mspg", {}), ("ring8-vae", {}), ("ring8-egan", {}),
    ("moons-score", {"diffusion.nfe": 4}),
    ("ring8-mustangs", {"coevolution.rows": 1, "coevolution.cols": 2,
                        "coevolution.batches_per_gen": 2, "backend.name": "sequential",
                        "coevolution.score_samples": 64}),
])
def test_training_sampling_and_evaluation_name_their_devices(preset, over):
    cfg = load_config(preset, {"eval.n_samples": 64, "data.batch_size": 64, **over})
    dataset = build_dataset(cfg.data)
    trainer = get_trainer(cfg.trainer.name).build(cfg, dataset, torch.device("cpu"))
    guard = DevicelessFactories()
    try:
        with guard:
            trainer.train_step()
            sample = sampler_fn(trainer.final_generative(), 0)
            evaluate(sample, dataset, cfg.eval, 0)
    finally:
        trainer.close()
    unexplained = sorted(c for c in guard.calls if not _explained(*c))
    assert not unexplained, f"factories without a device, called from genarena: {unexplained}"
    if preset == "ring8-mustangs":             # the guard sees what it should: the allowed
        assert any(f == "coevolution/mixture.py" for f, _ in guard.calls)   # float64 weights
