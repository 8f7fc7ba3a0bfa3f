"""Controllers: what changes learning rates, loss weights and d_steps during training."""
from __future__ import annotations

from genarena.config import ControllerConfig
from genarena.control.apfl import APFLController
from genarena.control.balancer import BalancerController
from genarena.control.base import Controller, Knobs
from genarena.control.static import StaticController
from genarena.errors import UserError
from genarena.rl.dqn import AgentSettings


def build_controller(cfg: ControllerConfig, seed: int = 0) -> Controller:
    """The controller a `controller` config section names (`seed` seeds RL agents)."""
    if cfg.name == "static":
        return StaticController(cfg.interval)
    if cfg.name == "apfl":
        return APFLController(cfg.interval, cfg.target_low, cfg.target_high, cfg.eta)
    if cfg.name in ("dqn", "iqn"):
        settings = AgentSettings(hidden=cfg.hidden, lr=cfg.agent_lr, gamma=cfg.gamma,
                                 replay=cfg.replay, batch=cfg.batch, target_update=cfg.target_update,
                                 epsilon_start=cfg.epsilon_start, epsilon_end=cfg.epsilon_end,
                                 epsilon_decay=cfg.epsilon_decay, quantiles=cfg.quantiles)
        return BalancerController(cfg.interval, cfg.name, settings, seed + 77, cfg.target_low,
                                  cfg.target_high, cfg.kappa, cfg.rho)
    raise UserError(f"config key 'controller.name': '{cfg.name}' is not available")


__all__ = ["APFLController", "BalancerController", "Controller", "Knobs", "StaticController",
           "build_controller"]
