"""What every dataset offers trainers and metrics: batches that resume exactly, and references."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor


@dataclass
class ModeInfo:
    """Known mixture modes of low-dimensional data (docs/foundation.md)."""
    centres: Tensor            # (K, D)
    std: float                 # σ of each component
    weights: Tensor            # (K,), sums to 1


@dataclass
class Dataset:
    """A training set: either an exact sampler (toy mixtures) or finite arrays (files, images)."""
    name: str
    sample_shape: tuple[int, ...]
    description: str = ""
    value_range: tuple[float, float] | None = None   # (-1, 1) for images
    num_classes: int = 0
    modes: ModeInfo | None = None
    sampler: Callable[[int, torch.Generator], tuple[Tensor, Tensor]] | None = None
    train_x: Tensor | None = None
    train_y: Tensor | None = None
    test_x: Tensor | None = None
    test_y: Tensor | None = None
    test_sampler: Callable[[int, torch.Generator], tuple[Tensor, Tensor]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def stream(self, batch_size: int, seed: int, pin_memory: bool = False) -> "BatchStream":
        """Training batches, deterministic for a seed and resumable from a state dict.
        `pin_memory` (for a CUDA run): batches land in page-locked host memory, so that
        `.to(device, non_blocking=True)` copies them while the host goes on."""
        if self.sampler is not None:
            return SamplerStream(self.sampler, batch_size, seed, pin_memory)
        assert self.train_x is not None
        return ArrayStream(self.train_x, self.train_y, batch_size, seed, pin_memory)

    def reference_split(self, n: int) -> str:
        """Which real samples `reference(n, seed)` returns, said beside every score made on them:
        the whole test split, a seeded subset of it, or fresh draws."""
        if self.test_sampler is not None:
            return "test draws"
        if self.sampler is not None and self.test_x is None:
            return "fresh draws"
        split = "test" if self.test_x is not None else "train"
        x = self.test_x if self.test_x is not None else self.train_x
        assert x is not None
        return split if n >= len(x) else f"{split} subset"

    def reference(self, n: int, seed: int) -> tuple[Tensor, Tensor | None]:
        """Real samples to compare generated ones with: fresh exact draws, or the test split."""
        if self.test_sampler is not None:
            return self.test_sampler(n, torch.Generator().manual_seed(seed))
        if self.sampler is not None and self.test_x is None:
            return self.sampler(n, torch.Generator().manual_seed(seed))
        x = self.test_x if self.test_x is not None else self.train_x
        y = self.test_y if self.test_x is not None else self.train_y
        assert x is not None
        if n >= len(x):
            return x, y
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
        return x[idx], (y[idx] if y is not None else None)


class BatchStream:
    """An endless iterator of (x, y) batches whose position is part of the checkpoint."""

    pin_memory: bool = False

    def next(self) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError


class SamplerStream(BatchStream):
    """Fresh draws from an exact sampler (infinite data)."""

    def __init__(self, sampler: Callable[[int, torch.Generator], tuple[Tensor, Tensor]],
                 batch_size: int, seed: int, pin_memory: bool = False) -> None:
        self.sampler, self.batch_size, self.pin_memory = sampler, batch_size, pin_memory
        self.rng = torch.Generator().manual_seed(seed)

    def next(self) -> tuple[Tensor, Tensor]:
        x, y = self.sampler(self.batch_size, self.rng)
        return (x.pin_memory(), y.pin_memory()) if self.pin_memory else (x, y)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.set_state(state["rng"])


class ArrayStream(BatchStream):
    """Epochs over finite arrays, reshuffled each epoch; drops no sample, wraps across epochs."""

    def __init__(self, x: Tensor, y: Tensor | None, batch_size: int, seed: int,
                 pin_memory: bool = False) -> None:
        self.x, self.batch_size, self.pin_memory = x, batch_size, pin_memory
        self.y = y if y is not None else torch.zeros(len(x), dtype=torch.long)
        self.rng = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(len(x), generator=self.rng)
        self.pos = 0

    def _take(self, k: int) -> Tensor:
        if self.pos >= len(self.perm):
            self.perm, self.pos = torch.randperm(len(self.x), generator=self.rng), 0
        idx = self.perm[self.pos:self.pos + k]
        self.pos += len(idx)
        return idx

    def next(self) -> tuple[Tensor, Tensor]:
        parts, need = [], self.batch_size
        while need > 0:
            idx = self._take(need)
            parts.append(idx)
            need -= len(idx)
        idx = torch.cat(parts)
        if not self.pin_memory:
            return self.x[idx], self.y[idx]
        # gathered straight into page-locked buffers (PyTorch's caching host allocator reuses a
        # buffer only after the copy that read it has finished)
        x = torch.empty((len(idx), *self.x.shape[1:]), dtype=self.x.dtype, pin_memory=True)
        y = torch.empty(len(idx), dtype=self.y.dtype, pin_memory=True)
        return torch.index_select(self.x, 0, idx, out=x), torch.index_select(self.y, 0, idx, out=y)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.get_state(), "perm": self.perm.clone(), "pos": self.pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.set_state(state["rng"])
        self.perm, self.pos = state["perm"].clone(), int(state["pos"])


def holdout_split(x: Tensor, y: Tensor | None, fraction: float = 0.1
                  ) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
    """(train_x, train_y, test_x, test_y): the last `fraction` of each class (or of all rows).

    The split depends only on the file order, never on the seed, so every run of every method is
    evaluated against the same test set.
    """
    n = len(x)
    if n < 10:
        return x, y, None, None
    if y is None:
        cut = n - int(n * fraction)
        return x[:cut], None, x[cut:], None
    test = torch.zeros(n, dtype=torch.bool)
    for c in y.unique():
        idx = (y == c).nonzero().flatten()
        k = int(len(idx) * fraction)
        if k:
            test[idx[-k:]] = True
    if not test.any():                  # classes too small to hold any out: evaluate on train
        return x, y, None, None
    return x[~test], y[~test], x[test], y[test]
