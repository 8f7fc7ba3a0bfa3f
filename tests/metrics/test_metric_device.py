"""Metrics on the run's device: the feature networks and the k-NN distances go where the run
trains, and give the same numbers there. `cpu:0` stands in for a second device: PyTorch runs it
on the CPU, but genarena must treat it as a device other than `cpu` and move everything to it."""
import pytest
import torch

import genarena.metrics.images as images
from genarena.config import DataConfig, EvalConfig, load_config
from genarena.data import build_dataset
from genarena.metrics import evaluate
from genarena.metrics.distances import sliced_wasserstein
from genarena.metrics.features import FeatureExtractor
from genarena.metrics.prdc import manifold_radii, prdc
from genarena.train.pair import PairTrainer

OTHER = torch.device("cpu:0")


@pytest.fixture(scope="module")
def mnist():
    return build_dataset(DataConfig(name="mnist5k"))


def test_a_feature_network_moves_to_a_device_as_a_copy(mnist_features):
    assert mnist_features.on(None) is mnist_features
    assert mnist_features.on("cpu") is mnist_features
    moved = mnist_features.on("meta")
    assert {p.device.type for p in moved.net.parameters()} == {"meta"}
    assert {p.device.type for p in mnist_features.net.parameters()} == {"cpu"}
    assert moved.name == mnist_features.name and moved.device == torch.device("meta")


def _spied(monkeypatch) -> dict[str, list]:
    """Record the devices the feature net and PRDC are asked to run on."""
    seen: dict[str, list] = {"features": [], "prdc": []}
    on, real_prdc = FeatureExtractor.on, images.prdc

    def spy_on(self, device):
        seen["features"].append(device)
        return on(self, device)

    def spy_prdc(*args, device=None, **kwargs):
        seen["prdc"].append(device)
        return real_prdc(*args, device=device, **kwargs)
    monkeypatch.setattr(FeatureExtractor, "on", spy_on)
    monkeypatch.setattr(images, "prdc", spy_prdc)
    return seen


def test_an_evaluation_on_another_device_runs_there_and_scores_the_same(
        mnist, mnist_features, feature_cache, monkeypatch):
    fake = mnist.test_x[:300] + 0.3 * torch.randn(300, 1, 28, 28)
    cfg = EvalConfig(cache_dir=feature_cache, n_samples=300)
    here = evaluate(lambda n: fake[:n], mnist, cfg, seed=0)
    seen = _spied(monkeypatch)
    there = evaluate(lambda n: fake[:n], mnist, cfg, seed=0, device=OTHER)
    assert seen == {"features": [OTHER], "prdc": [OTHER]}
    assert there == here                      # the same numbers, exactly, on the same hardware


def test_a_trainer_evaluates_on_its_own_device(mnist_features, feature_cache, monkeypatch):
    cfg = load_config("mnist5k-bce", {"eval.cache_dir": feature_cache, "eval.n_samples": 100})
    trainer = PairTrainer(cfg, build_dataset(cfg.data), OTHER)
    seen = _spied(monkeypatch)
    sample = trainer.final_generative()
    metrics = trainer.evaluate(lambda n: sample.generate(n, torch.Generator().manual_seed(0)),
                               None, {})
    assert seen == {"features": [OTHER], "prdc": [OTHER]} and metrics["fid"] > 0


def test_prdc_and_sliced_wasserstein_follow_the_device_they_are_given():
    torch.manual_seed(0)
    real, fake = torch.randn(200, 8), torch.randn(200, 8) + 0.5
    radii = manifold_radii(real, 5, device=OTHER)
    assert prdc(real, fake, 5, real_radii=radii, device=OTHER) == prdc(real, fake, 5)
    assert sliced_wasserstein(fake.to(OTHER), real) == sliced_wasserstein(fake, real)
