"""Reference features on disk: computed once, reused on a hit, recomputed when the images or the
network (its weights' hash) change; and the Inception scores of a run's evaluation."""
import pytest
import torch
from nets.test_inception import fid_inception_weights

from genarena.config import DataConfig, EvalConfig
from genarena.data import build_dataset
from genarena.metrics.fid import fid
from genarena.metrics.images import image_metrics
from genarena.metrics.inception import inception_extractor
from genarena.metrics.reference import reference_features, reference_path


class CountingNetwork:
    """A feature network that counts its calls: features are the images' row means."""

    def __init__(self, name):
        self.name, self.calls = name, 0

    def features_and_logits(self, x):
        self.calls += 1
        f = x.flatten(2).mean(2)
        return f, f * 2

    def probs(self, logits):
        return logits.softmax(1)


def test_hit_miss_on_other_images_and_on_another_network(tmp_path):
    x = torch.rand(6, 3, 4, 4)
    net = CountingNetwork("net-aaaa")
    first = reference_features(x, net, str(tmp_path), "toy-test")
    again = reference_features(x.clone(), net, str(tmp_path), "toy-test")
    assert net.calls == 1 and all(torch.equal(p, q) for p, q in zip(first, again))
    reference_features(x[:5], net, str(tmp_path), "toy-test")                # other count
    assert net.calls == 2
    other = CountingNetwork("net-bbbb")                                       # other weights hash
    reference_features(x, other, str(tmp_path), "toy-test")
    assert other.calls == 1
    assert reference_path(x, net, str(tmp_path), "a") != reference_path(x, other, str(tmp_path), "a")


def test_a_damaged_cache_file_is_recomputed(tmp_path):
    x = torch.rand(4, 2, 3)
    net = CountingNetwork("n")
    reference_features(x, net, str(tmp_path))
    reference_path(x, net, str(tmp_path), "reference").write_bytes(b"truncated")
    f, _ = reference_features(x, net, str(tmp_path))
    assert net.calls == 2 and torch.equal(f, x.mean(2))


def test_changed_weights_file_misses(tmp_path):
    a = inception_extractor(fid_inception_weights(tmp_path / "a.pth", seed=0))
    b = inception_extractor(fid_inception_weights(tmp_path / "b.pth", seed=1))
    x = torch.rand(2, 1, 8, 8)
    assert a.name != b.name and a.weights_sha256 != b.weights_sha256
    assert reference_path(x, a, str(tmp_path), "r") != reference_path(x, b, str(tmp_path), "r")


@pytest.mark.slow
def test_inception_scores_of_an_evaluation(tmp_path, feature_cache):
    weights = fid_inception_weights(tmp_path / "pt_inception.pth")
    digits = build_dataset(DataConfig(name="digits"))
    cfg = EvalConfig(cache_dir=feature_cache, inception_weights=str(weights))
    fake = digits.test_x[-8:]
    m = image_metrics(fake, digits, cfg, seed=0)
    net = inception_extractor(weights)
    real, _ = digits.reference(len(fake), 0)
    assert m["fid_inception"] == pytest.approx(fid(net.features(real), net.features(fake)), rel=1e-6)
    assert m["inception_network"] == net.name and net.name.endswith("-torch-fidelity")
    assert m["inception_weights_sha256"] == net.weights_sha256
    assert m["kid_inception"] is not None and m["inception_score_inception"] >= 1
    assert m["reference_samples"] == 8 and m["reference_split"] == "test subset"
    assert m["kid"] is not None and m["kid_sd"] >= 0
