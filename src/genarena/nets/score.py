"""Noise-prediction nets ε̂(x_t, t) for diffusion: an MLP for vectors, a small U-Net for images.

The score is s(x_t, t) = -ε̂(x_t, t) / std(t); with that parametrisation the σ²-weighted DSM loss
and DDPM's ε-prediction MSE are the same objective.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from genarena.nets.embeddings import TimeEmbedding


class ScoreMLP(nn.Module):
    """x (B, D) and t (B,) -> ε̂ (B, D); the time embedding is added before every hidden layer."""

    def __init__(self, sample_shape: Sequence[int], hidden: Sequence[int], temb: int = 128) -> None:
        super().__init__()
        self.shape = tuple(sample_shape)
        dim = math.prod(self.shape)
        self.time = TimeEmbedding(temb)
        widths = [dim, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.temb = nn.ModuleList(nn.Linear(temb, b) for b in hidden)
        self.out = nn.Linear(hidden[-1], dim)
        self.act = nn.SiLU()

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        e = self.time(t)
        h = x.flatten(1)
        for layer, proj in zip(self.layers, self.temb):
            h = self.act(layer(h) + proj(e))
        return self.out(h).reshape(x.shape)


def unet_levels(resolution: int) -> int:
    """How many times the U-Net halves: while the map is even and at least 8 (28->14->7, 8->4)."""
    levels, size = 0, resolution
    while size % 2 == 0 and size >= 8:
        size //= 2
        levels += 1
    return max(levels, 1) if resolution % 2 == 0 else 0


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, the time embedding added in between, 1×1 skip when widths differ."""

    def __init__(self, cin: int, cout: int, temb: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(min(8, cin), cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(temb, cout)
        self.norm2, self.conv2 = nn.GroupNorm(min(8, cout), cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        h = self.conv1(self.act(self.norm1(x))) + self.temb(e)[:, :, None, None]
        h = self.conv2(self.act(self.norm2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    """A small U-Net: one ResBlock per level down, a middle block, one per level up, skips."""

    def __init__(self, sample_shape: Sequence[int], width: int = 32, temb: int = 128) -> None:
        super().__init__()
        c, h, _ = sample_shape
        self.levels = unet_levels(h)
        chans = [width * min(2 ** i, 4) for i in range(self.levels + 1)]
        self.time = TimeEmbedding(temb)
        self.inp = nn.Conv2d(c, width, 3, padding=1)
        self.down = nn.ModuleList(ResBlock(a, b, temb) for a, b in zip([width, *chans[:-1]], chans))
        self.pool = nn.ModuleList(nn.Conv2d(ch, ch, 3, stride=2, padding=1) for ch in chans[:-1])
        self.mid = ResBlock(chans[-1], chans[-1], temb)
        self.up = nn.ModuleList(ResBlock(chans[i + 1] + chans[i], chans[i], temb)
                                for i in reversed(range(self.levels)))
        self.out = nn.Sequential(nn.GroupNorm(min(8, width), width), nn.SiLU(),
                                 nn.Conv2d(width, c, 3, padding=1))

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        e = self.time(t)
        h = self.inp(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, e)
            if i < self.levels:
                skips.append(h)
                h = self.pool[i](h)
        h = self.mid(h, e)
        for block in self.up:
            skip = skips.pop()
            h = nn.functional.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = block(torch.cat([h, skip], 1), e)
        return self.out(h)
