"""Noise-conditional classifiers p(y | x_t, t) for classifier guidance (docs/diffusion.md).

The time embedding is added at every stage, so the classifier knows how noisy its input is.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from genarena.nets.embeddings import TimeEmbedding
from genarena.nets.layers import dense_stack
from genarena.nets.score import ResBlock, unet_levels


class NoisyClassifierMLP(nn.Module):
    """x (B, D), t (B,) -> class logits, SiLU MLP with the time embedding added per layer."""

    def __init__(self, sample_shape: Sequence[int], hidden: Sequence[int], num_classes: int,
                 temb: int = 128) -> None:
        super().__init__()
        widths = [math.prod(sample_shape), *hidden]
        self.time = TimeEmbedding(temb)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.temb = nn.ModuleList(nn.Linear(temb, b) for b in hidden)
        self.out = nn.Linear(hidden[-1], num_classes)
        self.act = nn.SiLU()

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        e, h = self.time(t), x.flatten(1)
        for layer, proj in zip(self.layers, self.temb):
            h = self.act(layer(h) + proj(e))
        return self.out(h)


def _relu_mlp(widths: Sequence[int]) -> nn.Sequential:
    """ReLU between the layers; the last layer's output stays linear."""
    return nn.Sequential(*dense_stack(widths, "relu")[:-1])


class SigmaBranchClassifier(nn.Module):
    """x (B, D), t (B,) -> class logits: the DLSM paper's toy classifier (Chao et al. 2022).

    A ReLU MLP reads x, a second one four times narrower reads the raw noise level σ(t), and a
    linear layer reads both outputs side by side. σ rather than t is what the paper feeds in.
    """

    def __init__(self, sample_shape: Sequence[int], hidden: Sequence[int], num_classes: int,
                 noise_std: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        narrow = [max(1, h // 4) for h in hidden]
        self.noise_std = noise_std
        self.x_branch = _relu_mlp([math.prod(sample_shape), *hidden])
        self.sigma_branch = _relu_mlp([1, *narrow])
        self.out = nn.Linear(hidden[-1] + narrow[-1], num_classes)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        sigma = self.noise_std(t).reshape(-1, 1).to(x.dtype)
        return self.out(torch.cat([self.x_branch(x.flatten(1)), self.sigma_branch(sigma)], dim=1))


class NoisyClassifierConv(nn.Module):
    """The U-Net's encoder half (ResBlocks with time embedding, stride-2 convs), pooled, linear."""

    def __init__(self, sample_shape: Sequence[int], num_classes: int, width: int = 32,
                 temb: int = 128) -> None:
        super().__init__()
        c, h, _ = sample_shape
        levels = unet_levels(h)
        chans = [width * min(2 ** i, 4) for i in range(levels + 1)]
        self.time = TimeEmbedding(temb)
        self.inp = nn.Conv2d(c, width, 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock(a, b, temb) for a, b in zip([width, *chans[:-1]], chans))
        self.pool = nn.ModuleList(nn.Conv2d(ch, ch, 3, stride=2, padding=1) for ch in chans[:-1])
        self.head = nn.Sequential(nn.GroupNorm(min(8, chans[-1]), chans[-1]), nn.SiLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(chans[-1], num_classes))

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        e, h = self.time(t), self.inp(x)
        for i, block in enumerate(self.blocks):
            h = block(h, e)
            if i < len(self.pool):
                h = self.pool[i](h)
        return self.head(h)
