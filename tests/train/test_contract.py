"""The trainer contract: the loop trains any Trainer without asking which one it is, every
registered trainer is one, and the example trainer of docs/foundation.md trains through it."""
import ast
import inspect
import re
from pathlib import Path

import torch

import genarena
from genarena import api
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.generative import sampler_fn
from genarena.progress import Progress
from genarena.run import RunDir
from genarena.train import loop
from genarena.train.base import Trainer
from genarena.trainers import TRAINERS

DOCS = Path(genarena.__file__).parents[2] / "docs" / "foundation.md"


def _probes_and_names(source: str) -> list[str]:
    """getattr/hasattr calls and string constants naming a registered trainer, in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("getattr", "hasattr"):
            found.append(f"{node.func.id} at line {node.lineno}")
        if isinstance(node, ast.Constant) and node.value in TRAINERS:
            found.append(f"trainer name {node.value!r} at line {node.lineno}")
    return found


def test_the_loop_never_probes_a_trainer_nor_names_one():
    assert _probes_and_names(inspect.getsource(loop)) == []
    for fn in (api._fit, api._hooks, api._train_run):
        assert _probes_and_names(inspect.getsource(fn)) == [], fn.__name__


def test_the_probe_finder_finds_what_it_looks_for():
    assert _probes_and_names('getattr(t, "updates", None)\nif name == "marl": pass') == [
        "getattr at line 1", "trainer name 'marl' at line 2"]


def test_every_registered_trainer_is_a_trainer():
    for name, spec in TRAINERS.items():
        assert isinstance(spec.build, type) and issubclass(spec.build, Trainer), name


def _example_trainer() -> type:
    """The trainer the docs show, executed from the docs' own text."""
    text = DOCS.read_text()
    block = re.search(r"```python\n(.*?class GaussianTrainer.*?)```", text, re.S)
    assert block, "docs/foundation.md lost its example trainer"
    assert len(block.group(1).splitlines()) <= 45
    namespace: dict = {}
    exec(compile(block.group(1), str(DOCS), "exec"), namespace)
    return namespace["GaussianTrainer"]


def test_the_docs_example_trainer_fits_the_data_through_the_loop(tmp_path):
    gaussian = _example_trainer()
    cfg = load_config("grid25-nsgan", {"steps": 600, "optim.lr_g": 0.05, "data.batch_size": 512,
                                       "eval.n_samples": 2000, "log.interval": 100,
                                       "log.sample_interval": 0})
    dataset = build_dataset(cfg.data)
    trainer = gaussian(cfg, dataset, torch.device("cpu"))
    run = RunDir.create(tmp_path / "gauss", "gauss")
    summary = loop.fit(trainer, run, loop.Hooks(
        Progress(cfg.steps, "gauss", quiet=True),
        lambda n: sampler_fn(trainer.final_generative(), 0)(n)))
    # grid25: mean 0 and, per coordinate, sd √(mean of {16, 4, 0, 4, 16} + 0.05²) ≈ 2.83
    assert trainer.net.bias.abs().max() < 0.15
    assert torch.allclose(trainer.net.weight.diagonal().abs(), torch.full((2,), 2.829), atol=0.1)
    assert summary["final_step"] == 600 and summary["model"] == "generator"
    assert summary["metrics"]["modes_total"] == 25 and "nll" in run.read_metrics()[-1]
    assert summary["eval"] == {"n_samples": 2000, "seed": cfg.seed + 10_000}
    # its checkpoint resumes it: a second trainer loaded from it holds the same model
    again = gaussian(cfg, dataset, torch.device("cpu"))
    again.load_state_dict(run.load_checkpoint()["trainer_state"])
    assert again.step == 600 and torch.equal(again.net.weight, trainer.net.weight)
