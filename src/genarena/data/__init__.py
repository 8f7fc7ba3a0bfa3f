"""Datasets: built-in ones by name (SPEC 2.1) and the user's own by path (SPEC 2.2)."""
from __future__ import annotations

from types import MappingProxyType
from typing import Callable

from genarena.config import DataConfig
from genarena.data.base import BatchStream, Dataset, ModeInfo
from genarena.data.files import load_path
from genarena.data.toy import grid25, moons, ring8
from genarena.errors import UserError

BUILTIN: MappingProxyType[str, Callable[[], Dataset]] = MappingProxyType({
    "ring8": ring8,
    "grid25": grid25,
    "moons": moons,
})


def build_dataset(cfg: DataConfig) -> Dataset:
    """The dataset a `data` config section names: a user path wins over a built-in name."""
    if cfg.path:
        return load_path(cfg.path)
    try:
        factory = BUILTIN[cfg.name]
    except KeyError:
        raise UserError(f"config key 'data.name': unknown dataset '{cfg.name}' "
                        f"(expected one of: {', '.join(BUILTIN)}; or set data.path)") from None
    return factory()


def describe_datasets() -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in dataset."""
    return [(name, factory().description) for name, factory in BUILTIN.items()]


__all__ = ["BUILTIN", "BatchStream", "Dataset", "ModeInfo", "build_dataset", "describe_datasets"]
