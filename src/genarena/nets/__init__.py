"""Generator and discriminator architectures, built from the `model` config section."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from genarena.config import ModelConfig
from genarena.errors import UserError
from genarena.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from genarena.nets.mlp import MLPDiscriminator, MLPGenerator
from genarena.nets.mspg import MSPGDiscriminator, MSPGGenerator


def output_activation(cfg: ModelConfig, value_range: tuple[float, float] | None) -> str:
    """Resolve g_output=auto: tanh when the data lives in [-1, 1], identity otherwise."""
    if cfg.g_output != "auto":
        return cfg.g_output
    return "tanh" if value_range == (-1.0, 1.0) else "identity"


def build_gan(cfg: ModelConfig, sample_shape: Sequence[int],
              value_range: tuple[float, float] | None = None) -> tuple[nn.Module, nn.Module]:
    """(G, D) for data of `sample_shape`, as the config's architecture says."""
    if cfg.arch == "dcgan":
        if len(sample_shape) != 3:
            raise UserError(f"config key 'model.arch': dcgan needs C×H×W images, the data has "
                            f"samples of shape {tuple(sample_shape)} (use mlp)")
        try:
            g = DCGANGenerator(cfg.z_dim, sample_shape, cfg.width, output_activation(cfg, value_range))
            d = DCGANDiscriminator(sample_shape, cfg.width, cfg.d_norm, cfg.pack)
        except ValueError as exc:
            raise UserError(f"config key 'model.arch': dcgan cannot build for images of shape "
                            f"{tuple(sample_shape)} ({exc})") from None
        return g, d
    if cfg.arch == "mspg":
        if len(sample_shape) != 3:
            raise UserError(f"config key 'model.arch': mspg needs C×H×W images, the data has "
                            f"samples of shape {tuple(sample_shape)} (use mlp with trainer mspg)")
        try:
            g = MSPGGenerator(cfg.z_dim, sample_shape, cfg.width, cfg.dema, cfg.gctdrn,
                              output_activation(cfg, value_range))
            d = MSPGDiscriminator(sample_shape, cfg.width, cfg.dema, cfg.gctdrn, cfg.multiscale)
        except ValueError as exc:
            raise UserError(f"config key 'model.arch': mspg cannot build for images of shape "
                            f"{tuple(sample_shape)} ({exc})") from None
        return g, d
    if cfg.arch == "mlp":
        g = MLPGenerator(cfg.z_dim, cfg.g_hidden, sample_shape, cfg.activation,
                         output_activation(cfg, value_range))
        d = MLPDiscriminator(sample_shape, cfg.d_hidden, cfg.activation, cfg.pack)
        return g, d
    raise UserError(f"config key 'model.arch': '{cfg.arch}' is not available for GAN training")
