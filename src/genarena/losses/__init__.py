"""Losses: the one adversarial loss registry every trainer uses, and D regularizers."""
from genarena.losses.adversarial import LOSSES, AdversarialLoss, get_loss
from genarena.losses.mspg import feature_matching, info_nce
from genarena.losses.regularizers import clip_weights, gradient_penalty, r1_penalty

__all__ = ["LOSSES", "AdversarialLoss", "get_loss", "clip_weights", "gradient_penalty", "r1_penalty",
           "feature_matching", "info_nce"]
