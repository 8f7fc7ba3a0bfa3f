"""Fully connected G and D: the toy nets (G 4×400, D 3×200) and Lipizzaner's MNIST perceptron."""
from __future__ import annotations

import math
from typing import Sequence

from torch import Tensor, nn

from genarena.nets.base import Discriminator, Generator
from genarena.nets.layers import activation, dense_stack, pack


class MLPGenerator(Generator):
    """z (B, z_dim) -> samples (B, *out_shape) through hidden layers and an output activation."""

    def __init__(self, z_dim: int, hidden: Sequence[int], out_shape: Sequence[int],
                 act: str = "relu", out_act: str = "identity", batch_norm: bool = False) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.out_shape = tuple(out_shape)
        out_dim = math.prod(self.out_shape)
        self.net = nn.Sequential(*dense_stack([z_dim, *hidden], act, batch_norm=batch_norm),
                                 nn.Linear(hidden[-1], out_dim),
                                 activation(out_act))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).reshape(z.shape[0], *self.out_shape)


class MLPDiscriminator(Discriminator):
    """samples (B, *in_shape) -> raw logits (B/pack, 1); packs `pack` samples per decision."""

    def __init__(self, in_shape: Sequence[int], hidden: Sequence[int], act: str = "relu",
                 pack: int = 1, maxout: int = 0) -> None:
        super().__init__()
        self.pack = pack
        in_dim = math.prod(in_shape) * pack
        self.net = nn.Sequential(*dense_stack([in_dim, *hidden], act, maxout),
                                 nn.Linear(hidden[-1], 1))

    def features(self, x: Tensor) -> list[Tensor]:
        """Hidden activations (feature matching and the MSPG diversity heads read them)."""
        out, h = [], pack(x.flatten(1), self.pack)
        for layer in list(self.net)[:-1]:
            h = layer(h)
            if not isinstance(layer, nn.Linear):
                out.append(h)
        return out

    def classify(self, features: list[Tensor]) -> Tensor:
        """The logit from `features(x)` (so one pass serves the logit and the feature losses)."""
        return self.net[-1](features[-1])

    def forward(self, x: Tensor) -> Tensor:
        return self.net(pack(x.flatten(1), self.pack))
