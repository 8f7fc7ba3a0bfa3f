"""Controllers: what changes learning rates, loss weights and d_steps during training."""
from __future__ import annotations

from genarena.config import ControllerConfig
from genarena.control.apfl import APFLController
from genarena.control.balancer import BalancerController
from genarena.control.base import Controller, Knobs
from genarena.control.multiagent import CellBalancers, DFACController, GridController
from genarena.control.static import StaticController
from genarena.errors import UserError
from genarena.rl.dfac import LearnerSettings
from genarena.rl.dqn import AgentSettings


def _agent_settings(cfg: ControllerConfig) -> AgentSettings:
    return AgentSettings(hidden=cfg.hidden, lr=cfg.agent_lr, gamma=cfg.gamma, replay=cfg.replay,
                         batch=cfg.batch, target_update=cfg.target_update,
                         epsilon_start=cfg.epsilon_start, epsilon_end=cfg.epsilon_end,
                         epsilon_decay=cfg.epsilon_decay, quantiles=cfg.quantiles)


def build_controller(cfg: ControllerConfig, seed: int = 0) -> Controller:
    """The controller of a pair trainer a `controller` config section names (`seed` seeds agents)."""
    if cfg.name == "static":
        return StaticController(cfg.interval)
    if cfg.name == "apfl":
        return APFLController(cfg.interval, cfg.target_low, cfg.target_high, cfg.eta)
    if cfg.name in ("dqn", "iqn"):
        return BalancerController(cfg.interval, cfg.name, _agent_settings(cfg), seed + 77,
                                  cfg.target_low, cfg.target_high, cfg.kappa, cfg.rho,
                                  cfg.updates_per_decision)
    raise UserError(f"config key 'controller.name': '{cfg.name}' is not available here")


def build_grid_controller(cfg: ControllerConfig, cells: int, seed: int = 0
                          ) -> GridController | None:
    """The controller of a coevolution grid's cells (None: static, the cells' knobs never change)."""
    if cfg.name == "static":
        return None
    if cfg.name in ("dqn", "iqn"):
        return CellBalancers(cfg.interval, cfg.name, _agent_settings(cfg), seed + 77, cells,
                             cfg.target_low, cfg.target_high, cfg.kappa, cfg.rho,
                             cfg.updates_per_decision)
    if cfg.name == "dfac":
        settings = LearnerSettings(hidden=cfg.hidden, lr=cfg.agent_lr, gamma=cfg.gamma,
                                   replay=cfg.replay, batch=cfg.batch,
                                   target_update=cfg.target_update,
                                   epsilon_start=cfg.epsilon_start, epsilon_end=cfg.epsilon_end,
                                   epsilon_decay=cfg.epsilon_decay, quantiles=cfg.quantiles,
                                   target_quantiles=cfg.quantiles)
        return DFACController(cfg.interval, cfg.mixer, settings, seed + 77, cells, cfg.rho,
                              cfg.updates_per_decision)
    raise UserError(f"config key 'controller.name': '{cfg.name}' does not control a grid")


__all__ = ["APFLController", "BalancerController", "CellBalancers", "Controller",
           "DFACController", "GridController", "Knobs", "StaticController", "build_controller",
           "build_grid_controller"]
