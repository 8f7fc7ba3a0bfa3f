"""The FID Inception network: TensorFlow's pools, the weights layout it accepts, the ones it
refuses. Its parity with torch-fidelity is tests/metrics/test_fid_parity.py."""
import pytest
import torch
import torch.nn.functional as F

from genarena.errors import UserError
from genarena.nets.inception import (
    FID_CLASSES,
    FIDInceptionV3,
    avg_pool_tf,
    load_fid_inception,
    max_pool_same,
    sha256_of,
)


def fid_inception_weights(path, seed=0):
    """A randomly initialised FID network saved in the pt_inception layout: He-normal
    convolutions and near-identity BatchNorm statistics, so its features still depend on the
    input (PyTorch's default initialisation makes them nearly constant after 90 layers)."""
    torch.manual_seed(seed)
    net = FIDInceptionV3()
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.05)
            m.running_var.uniform_(0.8, 1.2)
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return fid_inception_weights(tmp_path_factory.mktemp("inception") / "pt_inception.pth")


def test_average_pool_leaves_the_padding_out():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    pooled = avg_pool_tf(x)
    assert pooled[0, 0, 0, 0] == pytest.approx((0 + 1 + 4 + 5) / 4)       # 4 real pixels, not 9
    assert pooled[0, 0, 1, 1] == pytest.approx(x[0, 0, :3, :3].mean())
    torchvision_style = F.avg_pool2d(x, 3, stride=1, padding=1)
    assert torchvision_style[0, 0, 0, 0] == pytest.approx((0 + 1 + 4 + 5) / 9)


def test_last_block_pools_by_maximum_and_keeps_the_size():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(max_pool_same(x)[0, 0], torch.tensor(
        [[5., 6, 7, 7], [9, 10, 11, 11], [13, 14, 15, 15], [13, 14, 15, 15]]))
    net = FIDInceptionV3()
    assert net.Mixed_7c.pool is max_pool_same and net.Mixed_7b.pool is avg_pool_tf


def test_pool3_features_and_bias_free_logits(weights):
    net = load_fid_inception(weights)
    x = torch.rand(2, 3, 299, 299) * 2 - 1
    f = net.pool3(x)
    assert f.shape == (2, 2048) and torch.isfinite(f).all() and (f >= 0).all()
    assert net.logits(f).shape == (2, FID_CLASSES)
    assert torch.allclose(net.logits(f), net.fc(f) - net.fc.bias, atol=1e-5)


def test_extra_keys_are_ignored_and_the_hash_names_the_file(weights, tmp_path):
    state = torch.load(weights)
    state["AuxLogits.fc.weight"] = torch.zeros(10, 768)
    path = tmp_path / "with-aux.pth"
    torch.save(state, path)
    net = load_fid_inception(path)
    assert torch.equal(net.fc.weight, state["fc.weight"])
    assert sha256_of(path) != sha256_of(weights) and len(sha256_of(path)) == 64


def test_missing_keys_wrong_classifier_and_missing_file_are_user_errors(weights, tmp_path):
    partial = tmp_path / "partial.pt"
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(32, 3, 3, 3)}, partial)
    with pytest.raises(UserError, match="parameters missing.*pt_inception-2015-12-05"):
        load_fid_inception(partial)
    imagenet = tmp_path / "torchvision.pt"
    state = torch.load(weights)
    state["fc.weight"], state["fc.bias"] = torch.zeros(1000, 2048), torch.zeros(1000)
    torch.save(state, imagenet)
    with pytest.raises(UserError, match=r"fc.weight has shape \(1000, 2048\).*not the FID"):
        load_fid_inception(imagenet)
    with pytest.raises(UserError, match="not found"):
        load_fid_inception(tmp_path / "none.pt")
