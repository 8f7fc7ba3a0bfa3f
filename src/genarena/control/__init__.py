"""Controllers: what changes learning rates, loss weights and d_steps during training."""
from __future__ import annotations

from genarena.config import ControllerConfig
from genarena.control.base import Controller, Knobs
from genarena.control.static import StaticController
from genarena.errors import UserError


def build_controller(cfg: ControllerConfig) -> Controller:
    """The controller a `controller` config section names."""
    if cfg.name == "static":
        return StaticController(cfg.interval)
    raise UserError(f"config key 'controller.name': '{cfg.name}' is not available")


__all__ = ["Controller", "Knobs", "StaticController", "build_controller"]
