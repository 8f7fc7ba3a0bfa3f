"""The domain feature classifier of docs/images.md: trained on the dataset's train split on first use,
cached on disk, and named with a hash so every number says which features made it.

A LeNet-like net adapts to the resolution (28×28 MNIST, 8×8 digits, 32×32 images). Stacked MNIST
reuses the MNIST-5k classifier on each colour channel: features are concatenated, and the mode is
the predicted digit triple.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genarena.checkpoint import exclusive, load_checkpoint, save_checkpoint
from genarena.data.base import Dataset
from genarena.errors import UserError

FEATURE_SEED = 0
FORMAT = 1
CHUNK = 256                    # images per forward pass of the feature net
log = logging.getLogger(__name__)


class LeNet(nn.Module):
    """conv5-pool-conv5-pool(-conv3-pool) -> fc 128 (the features) -> fc classes."""

    def __init__(self, in_ch: int, resolution: int, num_classes: int, feature_dim: int = 128) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        chans, prev, size = [16, 32, 64], in_ch, resolution
        for ch in chans:
            if size < 8 or size % 2:
                break
            kernel = 5 if size >= 16 else 3
            layers += [nn.Conv2d(prev, ch, kernel, padding=kernel // 2), nn.ReLU(), nn.MaxPool2d(2)]
            prev, size = ch, size // 2
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(prev * size * size, feature_dim), nn.ReLU())
        self.out = nn.Linear(feature_dim, num_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.fc(self.conv(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.features(x))


def _arch(dataset: Dataset) -> str:
    c, h, _ = dataset.sample_shape
    return f"lenet{h}x{c}"


def _data_hash(dataset: Dataset) -> str:
    h = hashlib.sha256()
    for t in (dataset.train_x, dataset.train_y):
        assert t is not None
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def cache_dir(configured: str) -> Path:
    """eval.cache_dir, else $XDG_CACHE_HOME/genarena, else ~/.cache/genarena."""
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genarena"


def _shift(x: Tensor, rng: torch.Generator, pixels: int) -> Tensor:
    """Random translations by up to `pixels` in each direction (light augmentation)."""
    if pixels == 0:
        return x
    padded = F.pad(x, [pixels] * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * pixels + 1, (2,), generator=rng).tolist()
    return padded[..., dy:dy + x.shape[-2], dx:dx + x.shape[-1]]


@torch.no_grad()
def accuracy(net: LeNet, x: Tensor, y: Tensor) -> float:
    net.eval()
    device = next(net.parameters()).device
    pred = torch.cat([net(part.to(device)).argmax(1).cpu() for part in x.split(1024)])
    return float((pred == y.cpu()).double().mean())


def train_classifier(dataset: Dataset, min_steps: int = 1000, min_epochs: int = 12,
                     batch: int = 128, device: torch.device | None = None) -> tuple[LeNet, float]:
    """Train the domain classifier on the train split; return it with its test-split accuracy.

    At least `min_epochs` epochs and `min_steps` updates, so small sets (digits) train long enough.
    The batches are drawn and shifted on the CPU and trained on `device` (None: the CPU), so the
    same images reach the net on any device.
    """
    assert dataset.train_x is not None and dataset.train_y is not None
    epochs = max(min_epochs, math.ceil(min_steps / math.ceil(len(dataset.train_x) / batch)))
    c, h, _ = dataset.sample_shape
    rng = torch.Generator().manual_seed(FEATURE_SEED)
    with torch.random.fork_rng(devices=[]):          # the CPU's generator only: no GPU is touched
        torch.manual_seed(FEATURE_SEED)
        net = LeNet(c, h, dataset.num_classes)
    if device is not None:
        net = net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    x, y = dataset.train_x, dataset.train_y
    shift = 2 if h >= 16 else 1
    for epoch in range(epochs):
        if epoch % max(1, epochs // 4) == 0:
            log.info("feature classifier of %s: epoch %d of %d", dataset.name, epoch + 1, epochs)
        net.train()
        perm = torch.randperm(len(x), generator=rng)
        for idx in perm.split(batch):
            target = y[idx].to(device or y.device)
            loss = F.cross_entropy(net(_shift(x[idx], rng, shift).to(target.device)), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    test_x = dataset.test_x if dataset.test_x is not None else x
    test_y = dataset.test_y if dataset.test_y is not None else y
    return net.eval(), accuracy(net, test_x, test_y)


def moved_to(extractor: Any, device: torch.device | str | None) -> Any:
    """A feature extractor (a dataclass with `net` and `device`) with its net on `device` (None:
    itself); a copy, so the original stays where it is."""
    if device is None or torch.device(device) == extractor.device:
        return extractor
    return dataclasses.replace(extractor, net=copy.deepcopy(extractor.net).to(device),
                               device=torch.device(device))


@dataclass
class FeatureExtractor:
    """Features, logits and class probabilities of images; `name` identifies net and training.
    The net runs on `device` (a run's evaluation: the run's device); what it returns is on the
    CPU, where the scores are computed."""
    net: LeNet
    name: str
    test_accuracy: float
    channels_as_digits: bool = False      # stacked MNIST: classify each channel on its own
    device: torch.device = torch.device("cpu")

    def __post_init__(self) -> None:
        # Channels-last convolutions in chunks of 256 images: 3× faster on one CPU thread than
        # NCHW in chunks of 1024 (features equal to 3e-7), and features run every generation.
        self.net = self.net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def on(self, device: torch.device | str | None) -> "FeatureExtractor":
        """This extractor with its net on `device` (None: unchanged); the original is untouched."""
        return moved_to(self, device)

    @torch.no_grad()
    def _run(self, x: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
        self.net.eval()
        return torch.cat([fn(part.to(self.device, non_blocking=True)).cpu()
                          for part in x.split(CHUNK)])

    def _per_channel(self, x: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
        return torch.cat([self._run(x[:, i:i + 1], fn) for i in range(x.shape[1])], 1)

    def features(self, x: Tensor) -> Tensor:
        return self._per_channel(x, self.net.features) if self.channels_as_digits \
            else self._run(x, self.net.features)

    def logits(self, x: Tensor) -> Tensor:
        return self.features_and_logits(x)[1]

    @torch.no_grad()
    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Both in one pass over the images (the logits are the last layer on the features)."""
        f = self.features(x)
        parts = f.split(self.net.out.in_features, dim=1)     # one block per channel, or one
        return f, torch.cat([self.net.out(part.to(self.device)).cpu() for part in parts], 1)

    def labels(self, logits: Tensor) -> Tensor:
        """Predicted class (or digit-triple mode) from logits."""
        if not self.channels_as_digits:
            return logits.argmax(1)
        digits = logits.reshape(len(logits), -1, 10).argmax(2)
        weights = 10 ** torch.arange(digits.shape[1] - 1, -1, -1)
        return (digits * weights).sum(1)

    def probs(self, logits: Tensor) -> Tensor:
        """p(y|x); for stacked MNIST the product over channels, flattened to 1 000 modes."""
        if not self.channels_as_digits:
            return logits.softmax(1)
        p = logits.reshape(len(logits), -1, 10).softmax(2)
        out = p[:, 0]
        for i in range(1, p.shape[1]):
            out = (out[:, :, None] * p[:, i, None, :]).flatten(1)
        return out


def feature_extractor(dataset: Dataset, configured_cache: str = "") -> FeatureExtractor:
    """The cached classifier of this dataset, training it on first use."""
    if dataset.extra.get("digits") is not None:
        inner = feature_extractor(dataset.extra["digits"], configured_cache)
        return FeatureExtractor(inner.net, inner.name + "/per-channel", inner.test_accuracy, True)
    if len(dataset.sample_shape) != 3 or dataset.train_y is None or dataset.num_classes < 2:
        raise UserError(f"dataset '{dataset.name}': image metrics need labelled C×H×W images")
    arch = _arch(dataset)
    c, h, _ = dataset.sample_shape
    # The key covers the layer shapes too, so changing the architecture never reuses old weights.
    shapes = [(k, tuple(v.shape)) for k, v in LeNet(c, h, dataset.num_classes).state_dict().items()]
    key = hashlib.sha256(f"{dataset.name}|{arch}|{shapes}|{FEATURE_SEED}|{_data_hash(dataset)}|"
                         f"{FORMAT}".encode()).hexdigest()[:10]
    name = f"{arch}-{dataset.name}-{key}"
    path = cache_dir(configured_cache) / "features" / f"{name}.pt"
    if not path.exists():
        with exclusive(path):             # parallel runs on one machine train it once
            if not path.exists():
                _train_into(dataset, path, name)
    state = load_checkpoint(path)
    net = LeNet(c, h, dataset.num_classes)
    net.load_state_dict(state["net"])
    return FeatureExtractor(net.eval(), name, float(state["test_accuracy"]))


def _train_into(dataset: Dataset, path: Path, name: str) -> None:
    """Train the feature classifier of `dataset` and cache it at `path`."""
    assert dataset.train_x is not None, "a feature classifier learns a labelled image set"
    log.info("training the feature classifier of %s on first use (%d images; once per "
             "machine, cached as %s)", dataset.name, len(dataset.train_x), path)
    net, acc = train_classifier(dataset)
    log.info("feature classifier of %s: test accuracy %.3f", dataset.name, acc)
    save_checkpoint({"format": FORMAT, "net": net.state_dict(), "test_accuracy": acc,
                     "name": name}, path)
