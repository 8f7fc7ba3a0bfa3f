"""The generative model of GANs and VAEs: x = net(z), behind the `Generative` interface."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from genarena.train.noise import sample_latent


class LatentGenerator:
    """x = net(z), z from N(0, I) or U[-1, 1]: a GAN generator or a VAE decoder."""

    conditional = False

    def __init__(self, net: nn.Module, z_dim: int, z_dist: str, device: torch.device) -> None:
        self.net, self.z_dim, self.z_dist, self.device = net, z_dim, z_dist, device

    @torch.no_grad()
    def generate(self, n: int, rng: torch.Generator, labels: Tensor | None = None) -> Tensor:
        was_training = self.net.training
        self.net.eval()
        x = self.net(sample_latent(n, self.z_dim, self.z_dist, rng, self.device)).cpu()
        self.net.train(was_training)
        return x
