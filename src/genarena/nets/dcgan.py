"""DCGAN convolutional G and D (Radford 2016) that adapt to 8×8, 28×28, 32×32 (any 2^k·s) images.

The resolution is halved while it stays even and above 4: 32 -> 4 (3 stages), 28 -> 7 (2 stages),
8 -> 4 (1 stage). G grows from that base with stride-2 transposed convolutions; D mirrors it.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from genarena.nets.base import Discriminator, Generator
from genarena.nets.layers import pack


def base_size(resolution: int) -> tuple[int, int]:
    """(base spatial size, number of stride-2 stages) for a square resolution."""
    size, stages = resolution, 0
    while size % 2 == 0 and size > 4:
        size //= 2
        stages += 1
    if stages == 0:
        raise ValueError(f"resolution {resolution} cannot be reached by doubling a base size")
    return size, stages


def square_base(shape: Sequence[int], what: str) -> tuple[int, int, int]:
    """(channels, base size, stages) of a square C×H×W image shape; ValueError otherwise."""
    c, h, w = shape
    if h != w:
        raise ValueError(f"{what} needs square images, got {h}×{w}")
    return (c, *base_size(h))


def norm2d(kind: str, channels: int) -> nn.Module:
    """batch | layer (GroupNorm with one group: normalises over C, H, W per sample) | none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


Stages = tuple[tuple[int, int, int], nn.Module, list[nn.Module]]


def _project(z_dim: int, base: tuple[int, int, int]) -> nn.Module:
    """z -> Linear -> a (C, s, s) map -> BatchNorm -> ReLU: where both DCGAN generators start."""
    return nn.Sequential(nn.Linear(z_dim, base[0] * base[1] * base[2]), nn.Unflatten(1, base),
                         nn.BatchNorm2d(base[0]), nn.ReLU())


class DCGANGenerator(Generator):
    """z -> Linear -> (width·2^(k-1), s, s) -> k transposed-conv stages -> tanh image. Subclasses
    change the stages by overriding `_stages`."""

    def __init__(self, z_dim: int, out_shape: Sequence[int], width: int = 64,
                 out_act: str = "tanh") -> None:
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        self.base, self.project, ups = self._stages(z_dim, self.out_shape, width)
        if out_act == "tanh":
            ups.append(nn.Tanh())
        self.upsample = nn.Sequential(*ups)

    def _stages(self, z_dim: int, out_shape: tuple[int, ...], width: int) -> Stages:
        """(base shape, projection, upsampling layers up to the image, before its activation):
        4×4 stride-2 transposed convolutions, doubling from the base size (`base_size`)."""
        c, size, stages = square_base(out_shape, "DCGAN")
        chans = [width * 2 ** (stages - 1 - i) for i in range(stages)]
        base = (chans[0], size, size)
        project = _project(z_dim, base)
        ups: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:]):
            ups += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        ups += [nn.ConvTranspose2d(chans[-1], c, 4, 2, 1)]
        return base, project, ups

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.project(z))


class DCGANDiscriminator(Discriminator):
    """image -> k stride-2 conv stages (LeakyReLU 0.2, no norm on the first) -> Linear -> logit.
    Subclasses change the convolutions by overriding `_convs`."""

    def __init__(self, in_shape: Sequence[int], width: int = 64, norm: str = "batch",
                 pack: int = 1) -> None:
        super().__init__()
        c, h, _ = in_shape
        self.pack = pack
        convs, size = self._convs(c * pack, h, width, norm)
        self.blocks = nn.ModuleList(
            nn.Sequential(conv, norm2d(norm, conv.out_channels) if i else nn.Identity(),
                          nn.LeakyReLU(0.2)) for i, conv in enumerate(convs))
        self.feature_dim = convs[-1].out_channels * size * size
        self.head = nn.Linear(self.feature_dim, 1)

    def _convs(self, in_channels: int, resolution: int, width: int,
               norm: str) -> tuple[list[nn.Conv2d], int]:
        """(the stride-2 convolutions, the spatial size they end at): 4×4 kernels, halving to
        the base size (`base_size`), biases only where no norm follows."""
        size, stages = base_size(resolution)
        convs, prev = [], in_channels
        for i in range(stages):
            ch = width * 2 ** i
            convs.append(nn.Conv2d(prev, ch, 4, 2, 1, bias=(i == 0 or norm == "none")))
            prev = ch
        return convs, size

    def features(self, x: Tensor) -> list[Tensor]:
        """The activations after every stage (feature matching and diversity heads read them)."""
        out, h = [], pack(x, self.pack)
        for block in self.blocks:
            h = block(h)
            out.append(h)
        return out

    def classify(self, features: list[Tensor]) -> Tensor:
        """The logit from `features(x)`."""
        return self.head(features[-1].flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.classify(self.features(x))


def tf_stage_sizes(resolution: int, stages: int = 4) -> list[int]:
    """Spatial sizes of DCGAN-tensorflow's stages: each the ceiling of half the one before
    (TensorFlow's 'SAME' stride-2 convolution), 28 -> 14 -> 7 -> 4 -> 2."""
    sizes = [resolution]
    for _ in range(stages):
        sizes.append(-(-sizes[-1] // 2))
    return sizes


class TFDCGANGenerator(DCGANGenerator):
    """DCGAN-tensorflow's G (carpedm20; PacGAN's and VEEGAN's stacked-MNIST reference, model.arch
    =dcgan-tf): z -> Linear -> (8w, s/16, s/16), BatchNorm, ReLU -> three 5×5 stride-2 transposed
    convolutions with bias, BatchNorm and ReLU (4w, 2w, w) -> a fourth to the image -> tanh."""

    def _stages(self, z_dim: int, out_shape: tuple[int, ...], width: int) -> Stages:
        c, h, w = out_shape
        if h != w:
            raise ValueError(f"dcgan-tf needs square images, got {h}×{w}")
        sizes = tf_stage_sizes(h)[::-1]                          # 2, 4, 7, 14, 28 for 28
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"resolution {h} is too small for four stride-2 stages")
        chans = [width * 8, width * 4, width * 2, width, c]
        base = (chans[0], sizes[0], sizes[0])
        project = _project(z_dim, base)
        ups: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            # a 5×5 stride-2 transposed conv gives 2n−1 (+1 with output_padding): the target size
            ups.append(nn.ConvTranspose2d(a, b, 5, 2, 2, output_padding=sizes[i + 1] - 2 * sizes[i] + 1))
            if i < 3:
                ups += [nn.BatchNorm2d(b), nn.ReLU()]
        return base, project, ups


class TFDCGANDiscriminator(DCGANDiscriminator):
    """DCGAN-tensorflow's D: four 5×5 stride-2 convolutions with bias (w, 2w, 4w, 8w), BatchNorm on
    all but the first, LeakyReLU 0.2 -> Linear -> logit; packs of `pack` images on the channels."""

    def _convs(self, in_channels: int, resolution: int, width: int,
               norm: str) -> tuple[list[nn.Conv2d], int]:
        chans = [in_channels, width, width * 2, width * 4, width * 8]
        return ([nn.Conv2d(a, b, 5, 2, 2) for a, b in zip(chans[:-1], chans[1:])],
                tf_stage_sizes(resolution)[-1])
