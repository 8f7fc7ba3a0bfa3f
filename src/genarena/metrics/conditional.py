"""Class-conditional metrics for guided models (docs/diffusion.md): class-wise PRDC (and FID on
images) and CAS, the accuracy on the real test split of a classifier trained on generated data.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from genarena.config import EvalConfig
from genarena.data.base import Dataset
from genarena.metrics.fid import fid
from genarena.metrics.prdc import prdc

LabelSampleFn = Callable[[int, int], Tensor]


def _real_of_class(dataset: Dataset, c: int, n: int, seed: int) -> Tensor:
    if dataset.sampler is not None and dataset.test_x is None:
        x, y = dataset.sampler(n * dataset.num_classes * 2, torch.Generator().manual_seed(seed + c))
        return x[y == c][:n]
    x, labels = dataset.reference(10 ** 9, seed)
    assert labels is not None
    return x[labels == c][:n]


def conditional_metrics(sample_label: LabelSampleFn, dataset: Dataset, cfg: EvalConfig,
                        seed: int, n: int, device: torch.device | None = None) -> dict[str, Any]:
    """Means over classes of precision/recall/density/coverage (+ FID, CAS for images); the
    feature net and the distances on `device` (None: the CPU)."""
    from genarena.metrics import is_image_dataset
    from genarena.metrics.features import feature_extractor, train_classifier
    k = dataset.num_classes
    per_class = max(n // k, 50)
    images = is_image_dataset(dataset)
    fx = feature_extractor(dataset, cfg.cache_dir).on(device) if images else None
    embed = fx.features if fx is not None else (lambda x: x.flatten(1))
    sums: dict[str, float] = {}
    fakes, labels, compared = [], [], []
    for c in range(k):
        fake = sample_label(per_class, c)
        real = _real_of_class(dataset, c, per_class, seed)
        fakes.append(fake)
        labels.append(torch.full((len(fake),), c, dtype=torch.long))
        # Equal numbers of reals and fakes: 50 fakes against digits' 18 test images of a class
        # gave coverage 1.00 to a matching and to a shifted distribution alike; at 18 against 18
        # they read 0.80 and 0.11 (docs/diffusion.md).
        m = min(len(real), len(fake))
        compared.append(m)
        f_real, f_fake = embed(real[:m]), embed(fake[:m])
        scores = prdc(f_real, f_fake, k=min(5, m - 1), device=device)
        if images:
            scores["fid"] = fid(f_real, f_fake)
        for key, v in scores.items():
            sums[key] = sums.get(key, 0.0) + v / k
    out: dict[str, Any] = {f"classwise_{key}": v for key, v in sums.items()}
    out["classwise_samples"] = min(compared)        # per class and side, the fewest compared
    if images and dataset.test_x is not None:
        synthetic = Dataset(name=f"{dataset.name}-generated", sample_shape=dataset.sample_shape,
                            num_classes=k, train_x=torch.cat(fakes).cpu(), train_y=torch.cat(labels),
                            test_x=dataset.test_x, test_y=dataset.test_y)
        _, out["cas"] = train_classifier(synthetic, device=device)
    return out
