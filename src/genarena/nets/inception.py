"""The FID Inception-v3: the TensorFlow "pool3" network that papers' FID and KID are computed on,
loading the user's `pt_inception-2015-12-05` state dict (the layout pytorch-fid and torch-fidelity
load), so a score can be put beside a paper's. Nothing is ever downloaded.

It differs from torchvision's Inception-v3 in the pools TensorFlow used: the average pools of the
A, C and first E blocks exclude the padding, the last E block's pool branch is a max pool, and
the classifier has 1 008 outputs. The network takes inputs already resized to 299×299 and scaled
as `(u8 - 128) / 128`; `genarena.metrics.inception` does that preprocessing.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genarena.checkpoint import load_checkpoint_file
from genarena.errors import UserError

FID_CLASSES = 1008              # the 2015-12-05 graph's classifier (ImageNet's 1 000 plus 8 unused)
Pool = Callable[[Tensor], Tensor]


class BasicConv2d(nn.Module):
    """Convolution without bias, BatchNorm (eps 1e-3), ReLU."""

    def __init__(self, cin: int, cout: int, **kw: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def avg_pool_tf(x: Tensor) -> Tensor:
    """3×3 average pool, stride 1, whose border averages leave the padding out (TensorFlow's)."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def max_pool_same(x: Tensor) -> Tensor:
    """3×3 max pool, stride 1, same size: the pool branch of the FID network's last block."""
    return F.max_pool2d(x, 3, stride=1, padding=1)


def _chain(x: Tensor, *layers: nn.Module) -> Tensor:
    for layer in layers:
        x = layer(x)
    return x


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1x1(x), _chain(x, self.branch5x5_1, self.branch5x5_2),
                          _chain(x, self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3),
                          self.branch_pool(avg_pool_tf(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch3x3(x),
                          _chain(x, self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3),
                          F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1x1(x),
                          _chain(x, self.branch7x7_1, self.branch7x7_2, self.branch7x7_3),
                          _chain(x, self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                                 self.branch7x7dbl_4, self.branch7x7dbl_5),
                          self.branch_pool(avg_pool_tf(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([_chain(x, self.branch3x3_1, self.branch3x3_2),
                          _chain(x, self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3,
                                 self.branch7x7x3_4),
                          F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """The E block; `pool` is TensorFlow's padding-free average pool, or the max pool of the last."""

    def __init__(self, cin: int, pool: Pool) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat([self.branch1x1(x),
                          self.branch3x3_2a(a), self.branch3x3_2b(a),
                          self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b),
                          self.branch_pool(self.pool(x))], 1)


class FIDInceptionV3(nn.Module):
    """The FID network from a 299×299 input to its 2 048-d pool3 features and 1 008 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = InceptionA(192, 32), InceptionA(256, 64), \
            InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b, self.Mixed_6c = InceptionC(768, 128), InceptionC(768, 160)
        self.Mixed_6d, self.Mixed_6e = InceptionC(768, 160), InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b, self.Mixed_7c = InceptionE(1280, avg_pool_tf), InceptionE(2048, max_pool_same)
        self.fc = nn.Linear(2048, FID_CLASSES)

    def pool3(self, x: Tensor) -> Tensor:
        """The 2 048-d features FID and KID are computed on."""
        x = _chain(x, self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3)
        x = _chain(F.max_pool2d(x, 3, stride=2), self.Conv2d_3b_1x1, self.Conv2d_4a_3x3)
        x = _chain(F.max_pool2d(x, 3, stride=2), self.Mixed_5b, self.Mixed_5c, self.Mixed_5d,
                   self.Mixed_6a, self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e,
                   self.Mixed_7a, self.Mixed_7b, self.Mixed_7c)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def logits(self, pool3: Tensor) -> Tensor:
        """The classifier's logits without its bias, on which torch-fidelity's inception score is
        computed ("logits_unbiased")."""
        return pool3 @ self.fc.weight.T

    def forward(self, x: Tensor) -> Tensor:
        return self.pool3(x)


def sha256_of(path: str | Path) -> str:
    """The hex SHA-256 of a file, recorded beside every score made with it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_fid_inception(path: str | Path) -> FIDInceptionV3:
    """The FID network with the user's `pt_inception-2015-12-05` weights. Extra keys (AuxLogits)
    are ignored; a missing key or a classifier of another size (torchvision's ImageNet weights
    have 1 000 classes) is a user error, as FID on those weights is not the papers' FID."""
    state = load_checkpoint_file(Path(path), "inception weights")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise UserError(f"inception weights '{path}': expected a state dict")
    net = FIDInceptionV3()
    missing = [k for k in net.state_dict() if k not in state]
    if missing:
        raise UserError(f"inception weights '{path}': {len(missing)} parameters missing (first: "
                        f"{missing[0]}); expected the pt_inception-2015-12-05 state dict that "
                        "pytorch-fid and torch-fidelity load")
    fc = state["fc.weight"]
    if tuple(getattr(fc, "shape", ())) != (FID_CLASSES, 2048):
        raise UserError(f"inception weights '{path}': fc.weight has shape "
                        f"{tuple(getattr(fc, 'shape', ()))}, expected ({FID_CLASSES}, 2048): these "
                        "are not the FID network's weights (torchvision's ImageNet Inception has "
                        "1 000 classes, and its FID is not comparable with papers')")
    try:
        net.load_state_dict({k: state[k] for k in net.state_dict()})
    except RuntimeError as exc:
        raise UserError(f"inception weights '{path}': shapes do not match ({str(exc)[:120]})") from None
    return net.eval().requires_grad_(False)
