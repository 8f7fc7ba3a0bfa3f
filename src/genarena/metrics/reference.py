"""The reference side of a score, cached on disk: the features and logits of a set of real
images under one feature network, so runs, sweeps, `genarena eval` and `genarena score` compute
them once per machine.

The key is the SHA-256 of the images themselves (which covers the dataset, the split, the sample
count and the seed that drew them) with the network's name (which carries its weights' hash and
resize, or the LeNet's training hash): a changed weights file or image set misses.
"""
from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor

from genarena.checkpoint import load_checkpoint, save_checkpoint
from genarena.errors import UserError
from genarena.metrics.features import cache_dir

FORMAT = 1
log = logging.getLogger(__name__)


class FeatureNetwork(Protocol):
    """What a score needs of a feature network: a name, features with logits (on the CPU,
    whichever device the net runs on), p(y|x), and a copy of itself on another device."""

    @property
    def name(self) -> str: ...

    def on(self, device: torch.device | str | None) -> "FeatureNetwork": ...

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]: ...

    def probs(self, logits: Tensor) -> Tensor: ...


def images_digest(x: Tensor) -> str:
    """SHA-256 of a tensor's shape, dtype and bytes."""
    h = hashlib.sha256(f"{tuple(x.shape)}|{x.dtype}".encode())
    h.update(x.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def reference_path(real: Tensor, network: FeatureNetwork, configured_cache: str, label: str) -> Path:
    """Where the reference features of `real` under `network` are kept."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{label}-{network.name}")
    return cache_dir(configured_cache) / "reference" / f"{slug}-{len(real)}-{images_digest(real)[:16]}.pt"


def reference_features(real: Tensor, network: FeatureNetwork, configured_cache: str = "",
                       label: str = "reference") -> tuple[Tensor, Tensor]:
    """(features, logits) of the real images, from the disk cache when they were computed
    before (`label`, e.g. the dataset and split, only makes the file name readable)."""
    path = reference_path(real, network, configured_cache, label)
    if path.is_file():
        try:
            state = load_checkpoint(path)
            return state["features"], state["logits"]
        except (UserError, KeyError):
            log.warning("reference features %s unreadable: computing them again", path)
    features, logits = network.features_and_logits(real)
    save_checkpoint({"format": FORMAT, "features": features, "logits": logits,
                     "network": network.name, "samples": len(real), "label": label}, path)
    return features, logits
