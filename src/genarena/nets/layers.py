"""Small building blocks shared by the nets: activations by name, dense stacks, PacGAN packing."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from genarena.errors import UserError

_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": lambda: nn.ELU(),
    "tanh": lambda: nn.Tanh(),
    "identity": lambda: nn.Identity(),
}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name (leaky_relu uses slope 0.2, as DCGAN and Lipizzaner)."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise UserError(f"unknown activation '{name}' (expected one of: "
                        f"{', '.join(_ACTIVATIONS)})") from None


class Maxout(nn.Module):
    """(B, units·pieces) -> (B, units): each unit the largest of its `pieces` linear pieces
    (Goodfellow et al. 2013), pieces contiguous per unit. `max` rather than `amax`: the same
    values and, without ties, the same gradient, but its backward scatters into the chosen piece
    instead of comparing every piece with the maximum (a fifth faster on PacGAN's toy D)."""

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, x: Tensor) -> Tensor:
        return x.view(x.shape[0], -1, self.pieces).max(-1).values


def dense_stack(widths: Sequence[int], act: str, maxout: int = 0,
                batch_norm: bool = False) -> list[nn.Module]:
    """Linear layers between consecutive widths, each followed by the activation `act`, or, with
    `maxout` pieces, by a maxout over that many linear pieces per unit; with `batch_norm`, each
    Linear (then without bias, which BatchNorm's shift makes redundant) is batch-normalised."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        if maxout:
            layers += [nn.Linear(a, b * maxout), Maxout(maxout)]
        elif batch_norm:
            layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b), activation(act)]
        else:
            layers += [nn.Linear(a, b), activation(act)]
    return layers


@torch.no_grad()
def normal_init(module: nn.Module, std: float = 0.02) -> None:
    """Every linear and conv weight N(0, std²), biases 0 (model.init=normal)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            m.weight.normal_(0.0, std)
            if m.bias is not None:
                m.bias.zero_()


def pack(x: Tensor, m: int) -> Tensor:
    """PacGAN packing (Lin et al. 2018): m consecutive samples become one D input.

    (B, D) -> (B/m, m·D) for vectors, (B, C, H, W) -> (B/m, m·C, H, W) for images.
    """
    if m == 1:
        return x
    if x.shape[0] % m:
        raise ValueError(f"batch of {x.shape[0]} cannot be packed in groups of {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])
