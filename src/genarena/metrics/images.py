"""Image metrics of docs/images.md on the domain classifier's features: FID, IS, TVD, PRDC, modes."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genarena.config import EvalConfig
from genarena.data.base import Dataset
from genarena.metrics.features import feature_extractor
from genarena.metrics.fid import fid
from genarena.metrics.kid import SEED as KID_SEED
from genarena.metrics.kid import kid
from genarena.metrics.prdc import manifold_radii, prdc
from genarena.metrics.reference import FeatureNetwork, reference_features
from genarena.metrics.scores import classes_covered, inception_score, modes_and_reverse_kl, tvd

PRDC_K = 5
# A stacked sample counts towards modes_confident when the classifier reads every one of its
# digits with probability at least this: modes of unreadable samples are argmax noise.
CONFIDENT = 0.9
INCEPTION_SCORE_SPLITS = 10          # torch-fidelity's and the papers' ten splits
# PRDC's k-NN distances are quadratic in the sample count: on stacked MNIST's 26 000 samples
# they took 135 s of a 215 s evaluation (measured), ten times per run of an evidence study
PRDC_MAX_SAMPLES = 10_000


def image_metrics(fake: Tensor, dataset: Dataset, cfg: EvalConfig, seed: int,
                  memo: dict[Any, Any] | None = None,
                  device: torch.device | None = None) -> dict[str, Any]:
    """Every image metric of `fake` against the dataset's reference images, the feature networks
    and the k-NN distances on `device` (None: the CPU). `memo` keeps what depends on the reference
    alone (its features, logits and k-NN radii) across the evaluations of one run: on 10 000
    stacked-MNIST images that was about a fifth of each evaluation."""
    fx = feature_extractor(dataset, cfg.cache_dir).on(device)
    memo = {} if memo is None else memo
    key = (len(fake), seed, fx.name)
    if ("reference", key) not in memo:
        memo["reference", key] = _reference(dataset, len(fake), seed, fx, cfg.cache_dir)
    n_real, f_real, l_real = memo["reference", key]
    f_fake, l_fake = fx.features_and_logits(fake)
    y_real, y_fake = fx.labels(l_real), fx.labels(l_fake)
    k = dataset.num_classes
    kid_mean, kid_sd = kid(f_real, f_fake)
    out: dict[str, Any] = {
        "fid": fid(f_real, f_fake),
        "kid": kid_mean, "kid_sd": kid_sd,
        "fid_logits": fid(l_real, l_fake),
        "inception_score": inception_score(fx.probs(l_fake)),
        "tvd": tvd(y_fake, y_real, k),
        "classes_covered": classes_covered(y_fake, k),
    }
    # PRDC on equal numbers of real and fake samples, as Naeem et al.: more fakes than reals
    # inflates coverage (some fake lands in almost every real's k-NN ball), 1.00 against 0.97 on
    # one distribution at 5 000 vs 500. Its k-NN balls need k+1 points in each set; a tiny test
    # split gets no PRDC rather than a crash (k = 5 wherever it is defined). At most
    # PRDC_MAX_SAMPLES of each (the first ones drawn); the other metrics use every sample.
    m = min(len(f_real), len(f_fake), PRDC_MAX_SAMPLES)
    if m > PRDC_K:
        if ("radii", m, key) not in memo:
            memo["radii", m, key] = manifold_radii(f_real[:m], PRDC_K, device=device)
        out.update(prdc(f_real[:m], f_fake[:m], k=PRDC_K, real_radii=memo["radii", m, key],
                        device=device))
        out["prdc_samples"] = m
    if fx.channels_as_digits:
        modes, rkl = modes_and_reverse_kl(y_fake, k)
        out.update({"modes_captured": modes, "modes_total": k, "reverse_kl": rkl,
                    **confident_modes(l_fake, y_fake)})
    if cfg.inception_weights:
        out.update(inception_metrics(fake, dataset, cfg, seed, memo, device))
    out.update({"reference_samples": n_real, "reference_split": dataset.reference_split(len(fake)),
                "features": fx.name, "features_test_accuracy": fx.test_accuracy})
    return out


def _reference(dataset: Dataset, n: int, seed: int, network: FeatureNetwork,
               configured_cache: str) -> tuple[int, Tensor, Tensor]:
    """(count, features, logits) of the dataset's reference for n fakes, through the disk cache."""
    real, _ = dataset.reference(n, seed)
    label = f"{dataset.name}-{dataset.reference_split(n)}"
    return (len(real), *reference_features(real, network, configured_cache, label))


def inception_metrics(fake: Tensor, dataset: Dataset, cfg: EvalConfig, seed: int,
                      memo: dict[Any, Any], device: torch.device | None = None) -> dict[str, Any]:
    """FID, KID and IS on the FID Inception network (eval.inception_weights), named by the
    weights' SHA-256 and the resize, so the score says what it can be compared with."""
    from genarena.metrics.inception import inception_extractor
    if ("inception", cfg.inception_weights, cfg.inception_resize) not in memo:
        memo["inception", cfg.inception_weights, cfg.inception_resize] = \
            inception_extractor(cfg.inception_weights, cfg.inception_resize).on(device)
    net = memo["inception", cfg.inception_weights, cfg.inception_resize]
    key = (len(fake), seed, net.name)
    if ("reference", key) not in memo:
        memo["reference", key] = _reference(dataset, len(fake), seed, net, cfg.cache_dir)
    _, f_real, _ = memo["reference", key]
    f_fake, l_fake = net.features_and_logits(fake)
    kid_mean, kid_sd = kid(f_real, f_fake)
    return {"fid_inception": fid(f_real, f_fake), "kid_inception": kid_mean,
            "kid_inception_sd": kid_sd, "inception_score_inception": inception_score(
                net.probs(l_fake), splits=INCEPTION_SCORE_SPLITS, shuffle_seed=KID_SEED),
            "inception_network": net.name, "inception_weights_sha256": net.weights_sha256}


def confident_modes(logits: Tensor, modes: Tensor) -> dict[str, float]:
    """Stacked MNIST: the modes among samples whose every digit is read with p ≥ CONFIDENT, and
    the share of such samples (logits: N × 3·10, one block of 10 per channel)."""
    sure = logits.reshape(len(logits), -1, 10).softmax(2).amax(2).amin(1) >= CONFIDENT
    return {"modes_confident": int(modes[sure].unique().numel()),
            "confident_fraction": float(sure.float().mean())}
