"""A VAE baseline (Kingma & Welling 2014): MLP for vectors, DCGAN-shaped conv nets for images.

`forward(z)` decodes, so a trained VAE samples like any generator: x = VAE(z), z ~ N(0, I).
"""
from __future__ import annotations

import math
from typing import Sequence

from torch import Tensor, nn

from genarena.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from genarena.nets.layers import dense_stack
from genarena.nets.mlp import MLPGenerator


class VAE(nn.Module):
    """Gaussian encoder q(z|x) = N(μ, diag σ²) and a decoder mean; images use conv nets."""

    def __init__(self, sample_shape: Sequence[int], z_dim: int, g_hidden: Sequence[int],
                 d_hidden: Sequence[int], act: str = "relu", out_act: str = "identity",
                 width: int = 64) -> None:
        super().__init__()
        self.z_dim = z_dim
        if len(sample_shape) == 3:
            body = DCGANDiscriminator(sample_shape, width, norm="batch")
            self.encoder_body: nn.Module = nn.Sequential(*body.blocks, nn.Flatten())
            feat = body.feature_dim
            self.decoder: nn.Module = DCGANGenerator(z_dim, sample_shape, width, out_act)
        else:
            dims = [math.prod(sample_shape), *d_hidden]
            self.encoder_body = nn.Sequential(nn.Flatten(), *dense_stack(dims, act))
            feat = dims[-1]
            self.decoder = MLPGenerator(z_dim, g_hidden, sample_shape, act, out_act)
        self.to_stats = nn.Linear(feat, 2 * z_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(μ, log σ²) of q(z|x)."""
        mu, logvar = self.to_stats(self.encoder_body(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-20, 10)

    def forward(self, z: Tensor) -> Tensor:
        return self.decoder(z)
