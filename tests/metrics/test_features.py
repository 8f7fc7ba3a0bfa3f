"""The domain classifier and the image metrics built on it: sanity on real data, noise, collapse."""
import pytest
import torch

from genarena.config import DataConfig, EvalConfig
from genarena.data import build_dataset
from genarena.metrics.features import feature_extractor
from genarena.metrics.fid import fid
from genarena.metrics.images import image_metrics
from genarena.metrics.scores import inception_score, modes_and_reverse_kl


@pytest.fixture(scope="module")
def mnist():
    return build_dataset(DataConfig(name="mnist5k"))


def test_classifier_accuracy_on_the_test_split(mnist_features):
    assert mnist_features.test_accuracy >= 0.95
    assert mnist_features.name.startswith("lenet28x1-mnist5k-")


def test_cache_is_reused(mnist, mnist_features, feature_cache, monkeypatch):
    import genarena.metrics.features as features
    monkeypatch.setattr(features, "train_classifier", lambda *a, **k: pytest.fail("retrained"))
    again = feature_extractor(mnist, feature_cache)
    assert again.name == mnist_features.name
    x = mnist.test_x[:16]
    assert torch.allclose(again.features(x), mnist_features.features(x))


def test_fid_real_vs_real_is_small_and_vs_noise_large(mnist, mnist_features):
    f_test = mnist_features.features(mnist.test_x)
    f_train = mnist_features.features(mnist.train_x[torch.randperm(4500)[:500]])
    f_noise = mnist_features.features(torch.rand(500, 1, 28, 28) * 2 - 1)
    real_fid, noise_fid = fid(f_train, f_test), fid(f_noise, f_test)
    assert noise_fid > 20 * real_fid, (real_fid, noise_fid)


def test_inception_score_of_real_data_is_near_the_class_count(mnist, mnist_features):
    probs = mnist_features.probs(mnist_features.logits(mnist.test_x))
    assert inception_score(probs) > 8.5


def test_image_metrics_of_real_test_data(mnist, feature_cache):
    m = image_metrics(mnist.test_x.clone(), mnist, EvalConfig(cache_dir=feature_cache), seed=0)
    assert m["fid"] == pytest.approx(0.0, abs=1e-3) and m["tvd"] == 0
    assert m["classes_covered"] == 10 and m["precision"] == 1 and m["coverage"] == 1
    assert m["features"].startswith("lenet28x1-mnist5k-")


@pytest.mark.slow
def test_stacked_mnist_real_samples_cover_the_modes(mnist_features, feature_cache):
    stacked = build_dataset(DataConfig(name="stacked-mnist5k"))
    fx = feature_extractor(stacked, feature_cache)
    assert fx.channels_as_digits and fx.name == mnist_features.name + "/per-channel"
    real, truth = stacked.reference(26_000, seed=0)
    predicted = fx.labels(fx.logits(real))
    modes, rkl = modes_and_reverse_kl(predicted, 1000)
    assert modes >= 990 and rkl < 0.05, (modes, rkl)
    assert (predicted == truth).double().mean() > 0.85
    collapsed = real.clone()
    collapsed[:, 0] = real[0, 0]                      # the red channel always shows the same digit
    modes_c, rkl_c = modes_and_reverse_kl(fx.labels(fx.logits(collapsed)), 1000)
    assert modes_c <= 150 and rkl_c > 1.5, (modes_c, rkl_c)


def test_stacked_probabilities_are_a_distribution_over_1000_modes(mnist_features, feature_cache):
    stacked = build_dataset(DataConfig(name="stacked-mnist5k"))
    fx = feature_extractor(stacked, feature_cache)
    x, _ = stacked.reference(8, seed=1)
    p = fx.probs(fx.logits(x))
    assert p.shape == (8, 1000) and torch.allclose(p.sum(1), torch.ones(8, dtype=p.dtype))
    assert torch.equal(p.argmax(1), fx.labels(fx.logits(x)))


def test_prdc_compares_equal_numbers_of_real_and_fake_samples(mnist, feature_cache, monkeypatch):
    """More fakes than reals inflates coverage; PRDC gets as many fakes as there are reals."""
    import genarena.metrics.images as images
    sizes = []
    real_prdc = images.prdc
    monkeypatch.setattr(images, "prdc", lambda r, f, k, real_radii, device=None:
                        sizes.append((len(r), len(f))) or real_prdc(r, f, k=k, real_radii=real_radii))
    n_test = len(mnist.test_x)
    fake = torch.cat([mnist.test_x, mnist.test_x])            # twice as many fakes as reals
    m = image_metrics(fake, mnist, EvalConfig(cache_dir=feature_cache), seed=0)
    assert sizes == [(n_test, n_test)] and m["prdc_samples"] == n_test
    monkeypatch.setattr(images, "PRDC_MAX_SAMPLES", 100)    # capped: its cost is quadratic
    m = image_metrics(fake, mnist, EvalConfig(cache_dir=feature_cache), seed=0)
    assert sizes[-1] == (100, 100) and m["prdc_samples"] == 100


def test_a_memo_computes_the_reference_side_once_with_the_same_metrics(mnist, feature_cache,
                                                                        monkeypatch):
    """A run evaluates many times against one reference: its features and k-NN radii are kept."""
    import genarena.metrics.images as images
    cfg = EvalConfig(cache_dir=feature_cache)
    fake = mnist.test_x[torch.randperm(len(mnist.test_x), generator=torch.Generator().manual_seed(0))]
    fake = (fake + 0.3 * torch.randn(fake.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    alone = image_metrics(fake, mnist, cfg, seed=0)
    calls = []
    real_radii = images.manifold_radii
    monkeypatch.setattr(images, "manifold_radii", lambda x, k, device=None: calls.append(len(x))
                        or real_radii(x, k))
    memo: dict = {}
    first = image_metrics(fake, mnist, cfg, seed=0, memo=memo)
    monkeypatch.setattr(mnist, "reference", lambda *a: pytest.fail("the reference was drawn again"))
    second = image_metrics(fake, mnist, cfg, seed=0, memo=memo)
    assert first == alone and second == alone and calls == [len(fake)]


def test_confident_modes_count_only_samples_whose_every_digit_is_read_surely():
    from genarena.metrics.images import CONFIDENT, confident_modes
    sure, unsure = torch.full((10,), -10.0), torch.zeros(10)     # p ≈ 1 for one class / 0.1 each
    sure[3] = 10.0
    logits = torch.stack([torch.cat([sure, sure, sure]),          # mode 333, read surely
                          torch.cat([sure, unsure, sure]),        # its middle digit is a guess
                          torch.cat([sure, sure, sure])])
    modes = torch.tensor([333, 303, 333])
    out = confident_modes(logits, modes)
    assert CONFIDENT == 0.9
    assert out == {"modes_confident": 1, "confident_fraction": pytest.approx(2 / 3)}


def test_parallel_processes_train_a_missing_classifier_once(tmp_path):
    """Two processes that need the same uncached classifier: the first trains it under the cache's
    lock, the second waits and reads it (one 'training' log line between them, equal weights)."""
    import subprocess
    import sys
    code = ("import logging, sys, torch; logging.basicConfig(level=logging.INFO); "
            "from genarena.config import DataConfig; from genarena.data import build_dataset; "
            "from genarena.metrics.features import feature_extractor; "
            "f = feature_extractor(build_dataset(DataConfig(name='digits')), sys.argv[1]); "
            "print(float(sum(p.sum() for p in f.net.parameters())))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum("training the feature classifier" in err for _, err in outs) == 1, outs
    assert outs[0][0] == outs[1][0]
    assert len(list((tmp_path / "features").glob("*.pt"))) == 1
