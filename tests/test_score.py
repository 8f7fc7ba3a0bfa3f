"""`genarena score A B` on folders, .npz arrays, runs and dataset names, on LeNet and FID
Inception features, and its one-line errors."""
import json

import numpy as np
import pytest
import torch
from helpers import assert_user_error
from nets.test_inception import fid_inception_weights
from PIL import Image

from genarena.config import DataConfig
from genarena.data import build_dataset
from genarena.metrics.fid import fid
from genarena.metrics.inception import inception_extractor
from genarena.metrics.kid import kid

TINY = ["steps=10", "data.batch_size=8", "model.width=8", "model.z_dim=8", "eval.n_samples=64",
        "eval.interval=0", "log.interval=5", "log.checkpoint_interval=5", "backend.threads=1"]


def _u8(x):
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="module")
def mnist_sets(tmp_path_factory):
    """300 MNIST-5k train images as a uint8 N×H×W×C .npz and as a folder of PNGs, and 300 others
    as a float N×C×H×W .npz."""
    root = tmp_path_factory.mktemp("score")
    mnist = build_dataset(DataConfig(name="mnist5k"))
    idx = torch.randperm(len(mnist.train_x), generator=torch.Generator().manual_seed(0))
    a = _u8(mnist.train_x[idx[:300]])
    np.savez(root / "a.npz", x=a.permute(0, 2, 3, 1).numpy())
    (root / "pngs").mkdir()
    for i, image in enumerate(a):
        Image.fromarray(image[0].numpy()).save(root / "pngs" / f"{i:03d}.png")
    np.savez(root / "b.npz", x=mnist.train_x[idx[300:600]].numpy())
    return root, mnist


def _scores(cli, *args):
    code, out, err = cli("score", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_npz_against_a_dataset_matches_the_metrics_by_hand(cli, mnist_sets, mnist_features,
                                                           feature_cache):
    root, mnist = mnist_sets
    s = _scores(cli, root / "a.npz", "mnist5k", "--cache-dir", feature_cache)
    assert s["features"] == mnist_features.name and s["b"] == "mnist5k (test)"
    assert (s["a_samples"], s["b_samples"], s["prdc_samples"]) == (300, 500, 300)
    a = np.load(root / "a.npz")["x"].transpose(0, 3, 1, 2)
    fa = mnist_features.features(torch.from_numpy(a).float() / 127.5 - 1)
    fb = mnist_features.features(mnist.test_x)
    assert s["fid"] == pytest.approx(fid(fb, fa), rel=1e-9)
    assert s["kid"] == pytest.approx(kid(fb, fa)[0], rel=1e-9)
    assert s["fid"] < 30 and s["inception_score"] > 8 and s["precision"] > 0.5


def test_a_folder_scores_as_its_npz_and_noise_scores_badly(cli, mnist_sets, feature_cache):
    root, _ = mnist_sets
    folder = _scores(cli, root / "pngs", root / "b.npz", "--dataset", "mnist5k",
                     "--cache-dir", feature_cache)
    npz = _scores(cli, root / "a.npz", root / "b.npz", "--dataset", "mnist5k",
                  "--cache-dir", feature_cache)
    drop = ("a", "seconds")
    assert {k: v for k, v in folder.items() if k not in drop} == \
        {k: v for k, v in npz.items() if k not in drop}
    np.savez(root / "noise.npz", x=np.random.default_rng(0).uniform(-1, 1, (300, 1, 28, 28)))
    noise = _scores(cli, root / "noise.npz", root / "b.npz", "--dataset", "mnist5k",
                    "--cache-dir", feature_cache)
    assert noise["fid"] > 10 * npz["fid"] and noise["kid"] > 10 * npz["kid"]
    assert noise["precision"] < 0.1


def test_a_run_is_sampled_on_the_fly(cli, tmp_path, feature_cache):
    out = tmp_path / "run"
    assert cli("train", "digits-gan", *TINY, "--out", out, "--quiet")[0] == 0
    s = _scores(cli, out, "digits", "--n", "50", "--cache-dir", feature_cache)
    assert s["a_samples"] == 50 and s["features"].startswith("lenet8x1-digits-")
    assert s["fid"] > 0 and 0 <= s["coverage"] <= 1


@pytest.mark.slow
def test_fid_inception_with_both_resizes(cli, tmp_path, feature_cache):
    weights = fid_inception_weights(tmp_path / "pt_inception.pth")
    digits = build_dataset(DataConfig(name="digits"))
    np.savez(tmp_path / "a.npz", x=digits.test_x[:4].numpy())
    np.savez(tmp_path / "b.npz", x=digits.test_x[4:8].numpy())
    s = _scores(cli, tmp_path / "a.npz", tmp_path / "b.npz", "--weights", weights,
                "--cache-dir", feature_cache)
    net = inception_extractor(weights)
    assert s["features"] == net.name and s["resize"] == "torch-fidelity"
    assert s["weights_sha256"] == net.weights_sha256
    expected = fid(net.features(digits.test_x[4:8]), net.features(digits.test_x[:4]))
    assert s["fid"] == pytest.approx(expected, rel=1e-9)
    clean = _scores(cli, tmp_path / "a.npz", tmp_path / "b.npz", "--weights", weights,
                    "--resize", "clean-fid", "--cache-dir", feature_cache)
    assert clean["features"].endswith("-clean-fid") and clean["fid"] != s["fid"]


def test_bad_inputs_are_one_error_line(cli, tmp_path, mnist_sets, feature_cache):
    root, _ = mnist_sets
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    assert_user_error(cli("score", broken, "mnist5k"), "broken.npz", "not a readable .npz")
    np.savez(tmp_path / "nox.npz", y=np.zeros(3))
    assert_user_error(cli("score", tmp_path / "nox.npz", "mnist5k"), "no array 'x'")
    np.savez(tmp_path / "small.npz", x=np.zeros((5, 1, 8, 8), dtype=np.float32))
    assert_user_error(cli("score", tmp_path / "small.npz", root / "a.npz", "--dataset",
                          "mnist5k"), "small.npz", "(1, 8, 8)", "(1, 28, 28)")
    assert_user_error(cli("score", root / "a.npz", tmp_path / "none.npz"), "none.npz", "not found")
    assert_user_error(cli("score", root / "a.npz", root / "b.npz"), "--dataset NAME")
    assert_user_error(cli("score", root / "a.npz", "mnist5k", "--features", "fid-inception"),
                      "--weights")
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(1000, 2048)}, wrong)
    assert_user_error(cli("score", root / "a.npz", "mnist5k", "--weights", wrong), "wrong.pth",
                      "parameters missing")
    assert not list(tmp_path.glob("**/*.tmp*"))
