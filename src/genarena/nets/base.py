"""What the trainers may ask of a generator and a discriminator beyond `forward`.

A D exposes its hidden features so that other heads can read them (feature matching, MSPG-SEN's
auxiliary diversity discriminator): D(x) = classify(features(x)). A G may produce a pyramid of
scales and fade between them (MSPG-SEN); a single-scale G is a pyramid of one.
"""
from __future__ import annotations

from torch import Tensor, nn


class Generator(nn.Module):
    """G(z): a sample per latent."""

    def pyramid(self, z: Tensor) -> list[Tensor]:
        """G(z) at every scale, coarsest first (one scale unless the architecture has more)."""
        return [self(z)]

    def set_progress(self, p: float) -> None:
        """The fade-in position in [0, 1] of a progressive G (nothing to do for the others)."""


class Discriminator(nn.Module):
    """D(x): a logit per sample, from features the other heads can read."""

    def features(self, x: Tensor) -> list[Tensor]:
        """Hidden activations, input side first."""
        raise NotImplementedError

    def classify(self, features: list[Tensor]) -> Tensor:
        """The logits from `features`."""
        raise NotImplementedError
