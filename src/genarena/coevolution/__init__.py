"""Spatial coevolution of GANs on a toroidal grid (docs/coevolution.md; Lipizzaner and Mustangs)."""
from genarena.coevolution.grid import Grid
from genarena.coevolution.trainer import CoevolutionTrainer, load_mixture

__all__ = ["Grid", "CoevolutionTrainer", "load_mixture"]
