"""Controllers: what changes learning rates, loss weights and d_steps during training."""
from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Mapping

from genarena.config import ControllerConfig
from genarena.control.apfl import APFLController
from genarena.control.balancer import BalancerController
from genarena.control.base import Controller, Knobs
from genarena.control.multiagent import CellBalancers, DFACController, GridController
from genarena.control.static import StaticController
from genarena.errors import UserError
from genarena.rl.learner import RLSettings


def _agent_settings(cfg: ControllerConfig) -> RLSettings:
    """The RL hyperparameters of the controller section, for one agent or a team alike."""
    return RLSettings(hidden=cfg.hidden, lr=cfg.agent_lr, gamma=cfg.gamma, replay=cfg.replay,
                      batch=cfg.batch, target_update=cfg.target_update,
                      epsilon_start=cfg.epsilon_start, epsilon_end=cfg.epsilon_end,
                      epsilon_decay=cfg.epsilon_decay, quantiles=cfg.quantiles,
                      target_quantiles=cfg.quantiles)


def _balancer(cfg: ControllerConfig, seed: int) -> Controller:
    return BalancerController(cfg.interval, cfg.name, _agent_settings(cfg), seed + 77,
                              cfg.target_low, cfg.target_high, cfg.kappa, cfg.rho,
                              cfg.updates_per_decision)


# controller.name -> the controller of a pair trainer (config section, seed of its agents)
PAIR_CONTROLLERS: Mapping[str, Callable[[ControllerConfig, int], Controller]] = MappingProxyType({
    "static": lambda cfg, seed: StaticController(cfg.interval),
    "apfl": lambda cfg, seed: APFLController(cfg.interval, cfg.target_low, cfg.target_high,
                                             cfg.eta),
    "dqn": _balancer, "iqn": _balancer,
})


def _cell_balancers(cfg: ControllerConfig, cells: int, seed: int) -> GridController:
    return CellBalancers(cfg.interval, cfg.name, _agent_settings(cfg), seed + 77, cells,
                         cfg.target_low, cfg.target_high, cfg.kappa, cfg.rho,
                         cfg.updates_per_decision)


def _dfac(cfg: ControllerConfig, cells: int, seed: int) -> GridController:
    return DFACController(cfg.interval, cfg.mixer, _agent_settings(cfg), seed + 77, cells, cfg.rho,
                          cfg.updates_per_decision)


# controller.name -> the controller of a coevolution grid's cells (None: static, knobs never change)
GRID_CONTROLLERS: Mapping[str, Callable[[ControllerConfig, int, int], GridController | None]] = \
    MappingProxyType({"static": lambda cfg, cells, seed: None, "dqn": _cell_balancers,
                      "iqn": _cell_balancers, "dfac": _dfac})


def build_controller(cfg: ControllerConfig, seed: int = 0) -> Controller:
    """The controller of a pair trainer a `controller` config section names (`seed` seeds agents)."""
    if cfg.name not in PAIR_CONTROLLERS:
        raise UserError(f"config key 'controller.name': '{cfg.name}' is not available here "
                        f"(a pair trainer takes {', '.join(PAIR_CONTROLLERS)})")
    return PAIR_CONTROLLERS[cfg.name](cfg, seed)


def build_grid_controller(cfg: ControllerConfig, cells: int, seed: int = 0
                          ) -> GridController | None:
    """The controller of a coevolution grid's cells (None: static, the cells' knobs never change)."""
    if cfg.name not in GRID_CONTROLLERS:
        raise UserError(f"config key 'controller.name': '{cfg.name}' does not control a grid "
                        f"(a grid takes {', '.join(GRID_CONTROLLERS)})")
    return GRID_CONTROLLERS[cfg.name](cfg, cells, seed)


__all__ = ["GRID_CONTROLLERS", "PAIR_CONTROLLERS", "APFLController", "BalancerController",
           "CellBalancers", "Controller", "DFACController", "GridController", "Knobs",
           "StaticController", "build_controller", "build_grid_controller"]
