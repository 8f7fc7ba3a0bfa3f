"""Every architecture, built from the `model` config section: GAN pairs, the VAE, score nets and
the noise-conditional classifiers (builders beside their models; trainers only train)."""
from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Mapping, Sequence

from torch import Tensor, nn

from genarena.config import Config, ModelConfig
from genarena.data.base import Dataset
from genarena.errors import UserError
from genarena.nets.base import Discriminator, Generator
from genarena.nets.classifier import NoisyClassifierConv, NoisyClassifierMLP, SigmaBranchClassifier
from genarena.nets.dcgan import DCGANDiscriminator, DCGANGenerator, TFDCGANDiscriminator, TFDCGANGenerator
from genarena.nets.layers import normal_init
from genarena.nets.mlp import MLPDiscriminator, MLPGenerator
from genarena.nets.mspg import MSPGDiscriminator, MSPGGenerator
from genarena.nets.score import ScoreMLP, UNet
from genarena.nets.vae import VAE


def output_activation(cfg: ModelConfig, value_range: tuple[float, float] | None) -> str:
    """Resolve g_output=auto: tanh when the data lives in [-1, 1], identity otherwise."""
    if cfg.g_output != "auto":
        return cfg.g_output
    return "tanh" if value_range == (-1.0, 1.0) else "identity"


GANPair = tuple[Generator, Discriminator]


def _image_pair(name: str, make: Callable[[], GANPair],
                sample_shape: Sequence[int]) -> GANPair:
    """(G, D) of a conv architecture, or a user error naming the key when the shape does not fit."""
    if len(sample_shape) != 3:
        raise UserError(f"config key 'model.arch': {name} needs C×H×W images, the data has "
                        f"samples of shape {tuple(sample_shape)} (use mlp)")
    try:
        return make()
    except ValueError as exc:
        raise UserError(f"config key 'model.arch': {name} cannot build for images of shape "
                        f"{tuple(sample_shape)} ({exc})") from None


def _dcgan(cfg: ModelConfig, shape: Sequence[int], out: str) -> GANPair:
    return _image_pair("dcgan", lambda: (DCGANGenerator(cfg.z_dim, shape, cfg.width, out),
                                         DCGANDiscriminator(shape, cfg.width, cfg.d_norm, cfg.pack)),
                       shape)


def _dcgan_tf(cfg: ModelConfig, shape: Sequence[int], out: str) -> GANPair:
    return _image_pair("dcgan-tf", lambda: (
        TFDCGANGenerator(cfg.z_dim, shape, cfg.width, out),
        TFDCGANDiscriminator(shape, cfg.width, cfg.d_norm, cfg.pack)), shape)


def _mspg(cfg: ModelConfig, shape: Sequence[int], out: str) -> GANPair:
    return _image_pair("mspg", lambda: (
        MSPGGenerator(cfg.z_dim, shape, cfg.width, cfg.dema, cfg.gctdrn, out),
        MSPGDiscriminator(shape, cfg.width, cfg.dema, cfg.gctdrn, cfg.multiscale)), shape)


def _mlp(cfg: ModelConfig, shape: Sequence[int], out: str) -> GANPair:
    return (MLPGenerator(cfg.z_dim, cfg.g_hidden, shape, cfg.activation, out,
                         batch_norm=cfg.g_norm == "batch"),
            MLPDiscriminator(shape, cfg.d_hidden, cfg.activation, cfg.pack, cfg.d_maxout))


# model.arch -> (G, D) builder, for the adversarial trainers
GAN_ARCHS: Mapping[str, Callable[[ModelConfig, Sequence[int], str], GANPair]] \
    = MappingProxyType({"mlp": _mlp, "dcgan": _dcgan, "dcgan-tf": _dcgan_tf,
                                          "mspg": _mspg})


def build_gan(cfg: ModelConfig, sample_shape: Sequence[int],
              value_range: tuple[float, float] | None = None) -> GANPair:
    """(G, D) for data of `sample_shape`, as the config's architecture says."""
    if cfg.arch not in GAN_ARCHS:
        raise UserError(f"config key 'model.arch': '{cfg.arch}' is not available for GAN training")
    if cfg.g_norm != "none" and cfg.arch != "mlp":
        raise UserError(f"config key 'model.g_norm': it sets the MLP G's hidden layers "
                        f"(model.arch=mlp), not {cfg.arch}'s")
    if cfg.d_maxout and cfg.arch != "mlp":
        raise UserError(f"config key 'model.d_maxout': maxout units are for the MLP D "
                        f"(model.arch=mlp), not {cfg.arch}")
    g, d = GAN_ARCHS[cfg.arch](cfg, sample_shape, output_activation(cfg, value_range))
    if cfg.init == "normal":
        normal_init(g)
        normal_init(d)
    return g, d


def build_vae(cfg: ModelConfig, dataset: Dataset) -> VAE:
    """The VAE (MLP or conv encoder by data shape; G as the decoder) of model.arch=vae."""
    return VAE(dataset.sample_shape, cfg.z_dim, cfg.g_hidden, cfg.d_hidden, cfg.activation,
               output_activation(cfg, dataset.value_range), cfg.width)


def build_score_net(cfg: ModelConfig, dataset: Dataset) -> nn.Module:
    """The score network of model.arch=score-mlp | unet."""
    if cfg.arch == "unet":
        if len(dataset.sample_shape) != 3:
            raise UserError("config key 'model.arch': unet needs C×H×W images (use score-mlp)")
        return UNet(dataset.sample_shape, cfg.width)
    return ScoreMLP(dataset.sample_shape, cfg.g_hidden)


def build_classifier(cfg: Config, dataset: Dataset,
                     noise_std: Callable[[Tensor], Tensor]) -> nn.Module:
    """The noise-conditional classifier of guided diffusion (guidance.classifier_net);
    `noise_std` is the SDE's σ(t), which the paper's sigma-branch net reads."""
    if dataset.num_classes < 2:
        raise UserError(f"config key 'guidance.classifier': dataset '{dataset.name}' has no "
                        "class labels to guide with")
    images = len(dataset.sample_shape) == 3
    if cfg.guidance.classifier_net == "sigma-branch":
        if images:
            raise UserError("config key 'guidance.classifier_net': sigma-branch is an MLP for "
                            "vector data (use time-embedding for images)")
        return SigmaBranchClassifier(dataset.sample_shape, cfg.model.d_hidden,
                                     dataset.num_classes, noise_std)
    if images:
        return NoisyClassifierConv(dataset.sample_shape, dataset.num_classes, cfg.model.width)
    return NoisyClassifierMLP(dataset.sample_shape, cfg.model.d_hidden, dataset.num_classes)


# model.arch -> which kind of model it builds (and so which trainer may use it)
ARCHITECTURES: Mapping[str, str] = MappingProxyType({
    **{name: "gan" for name in GAN_ARCHS}, "vae": "vae", "score-mlp": "score", "unet": "score"})
