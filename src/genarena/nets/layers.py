"""Small building blocks shared by the nets: activations by name, dense stacks, PacGAN packing."""
from __future__ import annotations

from typing import Sequence

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


def dense_stack(widths: Sequence[int], act: str) -> list[nn.Module]:
    """Linear layers between consecutive widths, each followed by the activation `act`."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), activation(act)]
    return layers


def pack(x: Tensor, m: int) -> Tensor:
    """PacGAN packing (Lin et al. 2018): m consecutive samples become one D input.

    (B, D) -> (B/m, m·D) for vectors, (B, C, H, W) -> (B/m, m·C, H, W) for images.
    """
    if m == 1:
        return x
    if x.shape[0] % m:
        raise ValueError(f"batch of {x.shape[0]} cannot be packed in groups of {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])
