"""Inception-v3 features from a weights file the user gives: the loading path, never a download."""
import pytest
import torch

from genarena.metrics.fid import fid

from genarena.config import DataConfig, EvalConfig
from genarena.data import build_dataset
from genarena.errors import UserError
from genarena.metrics.images import image_metrics
from genarena.nets.inception import InceptionV3Features, inception_features, load_inception


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    net = InceptionV3Features()
    state = dict(net.state_dict())
    state["AuxLogits.fc.weight"] = torch.zeros(10, 768)      # extra keys are ignored
    path = tmp_path_factory.mktemp("inception") / "inception.pt"
    torch.save(state, path)
    return path


def test_features_from_a_weights_file(weights):
    net = load_inception(str(weights))
    f = inception_features(net, torch.rand(3, 1, 28, 28) * 2 - 1)
    assert f.shape == (3, 2048) and torch.isfinite(f).all()


def test_fid_inception_in_the_image_metrics(weights, feature_cache):
    digits = build_dataset(DataConfig(name="digits"))
    cfg = EvalConfig(cache_dir=feature_cache, inception_weights=str(weights))
    fake = digits.test_x[:40]
    m = image_metrics(fake, digits, cfg, seed=0)
    # the metric is the Fréchet distance of Inception features of the same reference images the
    # other metrics use, against these fakes (computed here by hand)
    net = load_inception(str(weights))
    real, _ = digits.reference(len(fake), 0)
    expected = fid(inception_features(net, real), inception_features(net, fake))
    assert m["fid_inception"] == pytest.approx(expected, rel=1e-6) and expected > 0


def test_incomplete_or_missing_weights(tmp_path):
    partial = tmp_path / "partial.pt"
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(32, 3, 3, 3)}, partial)
    with pytest.raises(UserError, match="parameters missing"):
        load_inception(str(partial))
    with pytest.raises(UserError, match="not found"):
        load_inception(str(tmp_path / "none.pt"))
