"""FID, KID and IS on the FID Inception network against torch-fidelity (and clean-fid's resize),
on randomly initialised weights saved in the pt_inception layout: no download, the same file
fed to both libraries."""
import numpy as np
import pytest
import torch
from nets.test_inception import fid_inception_weights
from reference_libraries import clean_fid_resizer, torch_fidelity

from genarena.metrics.fid import fid
from genarena.metrics.inception import (
    inception_extractor,
    preprocess,
    quantise,
    resize_pil_bicubic,
    resize_tf1_bilinear,
)
from genarena.metrics.kid import kid
from genarena.metrics.scores import inception_score

KID = dict(kid_subsets=10, kid_subset_size=8, kid_kernel="poly", kid_kernel_poly_degree=3,
           kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=1, rng_seed=2020, verbose=False)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return fid_inception_weights(tmp_path_factory.mktemp("fid") / "pt_inception-random.pth")


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (10, 3, 20, 20), dtype=torch.uint8, generator=g)
    b = torch.randint(30, 220, (10, 3, 20, 20), generator=g).to(torch.uint8)
    return a, b


@pytest.fixture(scope="module")
def reference(weights, images):
    inception, = torch_fidelity("feature_extractor_inceptionv3")
    net = inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                                feature_extractor_weights_path=str(weights))
    return [net(x) for x in images]


@pytest.fixture(scope="module")
def ours(weights, images):
    ex = inception_extractor(weights)
    return [ex.features_and_logits(x) for x in images]


def _rel(x, y):
    return float((x - y).abs().max() / y.abs().max())


def test_tf1_resize_is_torch_fidelity_s(images):
    interpolate, = torch_fidelity("interpolate_compat_tensorflow")
    for size in (299, 7):
        expected = interpolate.interpolate_bilinear_2d_like_tensorflow1x(
            images[0].float(), size=(size, size), align_corners=False)
        assert torch.equal(resize_tf1_bilinear(images[0].float(), size), expected)


def test_clean_resize_is_clean_fid_s(images):
    resize = clean_fid_resizer()
    for image in images[0][:3]:
        expected = resize(image.permute(1, 2, 0).numpy())
        ours = resize_pil_bicubic(image[None].float())[0].permute(1, 2, 0).numpy()
        assert np.abs(ours - expected).max() < 1e-4


def test_features_equal_torch_fidelity_s(reference, ours):
    for (f_ref, l_ref), (f, logits) in zip(reference, ours):
        assert _rel(f, f_ref) < 1e-4 and _rel(logits, l_ref) < 1e-4
        assert f.std(0).mean() > 1e-3 * f.abs().mean()          # the features depend on the input


def test_fid_equals_torch_fidelity_s(reference, ours):
    metric_fid, = torch_fidelity("metric_fid")
    stats = [metric_fid.fid_features_to_statistics(f.double()) for f, _ in reference]
    expected = metric_fid.fid_statistics_to_metric(*stats, False)["frechet_inception_distance"]
    ours_fid = fid(ours[0][0], ours[1][0])
    assert expected > 0.1 and ours_fid == pytest.approx(expected, rel=1e-3, abs=1e-3)


def test_kid_and_inception_score_equal_torch_fidelity_s(reference, ours):
    metric_kid, metric_isc = torch_fidelity("metric_kid", "metric_isc")
    expected = metric_kid.kid_features_to_metric(reference[1][0].double(), reference[0][0].double(),
                                                 **KID)
    mean, sd = kid(ours[1][0], ours[0][0], subsets=10, subset_size=8)
    assert mean == pytest.approx(expected["kernel_inception_distance_mean"], rel=1e-4)
    assert sd == pytest.approx(expected["kernel_inception_distance_std"], rel=1e-4)
    isc = metric_isc.isc_features_to_metric(reference[0][1], splits=2, rng_seed=2020)
    ours_is = inception_score(ours[0][1].double().softmax(1), splits=2, shuffle_seed=2020)
    assert ours_is == pytest.approx(isc["inception_score_mean"], rel=1e-6)


def test_float_images_quantise_like_their_png(images):
    u = images[0]
    as_float = u.float() / 127.5 - 1                                  # how genarena reads a PNG
    assert torch.equal(quantise(as_float), u.float())
    assert torch.equal(preprocess(as_float, "torch-fidelity"), preprocess(u, "torch-fidelity"))
    grey = u[:, :1]
    assert torch.equal(preprocess(grey, "clean-fid"), preprocess(grey.expand(-1, 3, -1, -1),
                                                                 "clean-fid"))
