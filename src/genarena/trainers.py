"""The trainer registry: every trainer by config name, how to build one, and how to load its final
model from a checkpoint. It sits above train/ and coevolution/ (which builds on train/), so
neither imports the other's way back."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable

import torch

from genarena.coevolution import CoevolutionTrainer, load_mixture
from genarena.config import Config, dump_yaml
from genarena.data.base import Dataset
from genarena.errors import UserError
from genarena.generative import Generative
from genarena.train.base import Trainer
from genarena.train.diffusion import DiffusionTrainer, load_diffusion
from genarena.train.egan import EGANTrainer
from genarena.train.marl import MARLTrainer, load_agents
from genarena.train.mspg import MSPGTrainer
from genarena.train.pair import PairTrainer, load_generator
from genarena.train.vae import VAETrainer, load_vae

# The config sections every trainer reads; config.yaml lists them first (the rest under a comment).
COMMON_SECTIONS = ("data", "model", "trainer", "optim", "eval", "log", "backend")
ADVERSARIAL_SECTIONS = COMMON_SECTIONS + ("loss", "controller")


@dataclass(frozen=True)
class TrainerSpec:
    """A trainer kind: `build` makes the trainer object; `load_model` rebuilds its final model;
    `sections` are the config sections it reads; `data_parallel`: it trains one model on several
    processes (`--nproc`, genarena.distributed); `mixed_precision`: it honours trainer.amp."""
    build: Callable[[Config, Any, torch.device], Trainer]   # the Dataset (None: not generative)
    load_model: Callable[[Config, Dataset, dict[str, Any], torch.device], Generative]
    sections: tuple[str, ...]
    data_parallel: bool = False
    mixed_precision: bool = False
    generative: bool = True          # False: no data set, no samples; it evaluates itself


TRAINERS: MappingProxyType[str, TrainerSpec] = MappingProxyType({
    "pair": TrainerSpec(PairTrainer, load_generator, ADVERSARIAL_SECTIONS, data_parallel=True,
                        mixed_precision=True),
    "vae": TrainerSpec(VAETrainer, load_vae, COMMON_SECTIONS + ("loss",), mixed_precision=True),
    "diffusion": TrainerSpec(DiffusionTrainer, load_diffusion,
                             COMMON_SECTIONS + ("diffusion", "guidance"), mixed_precision=True),
    "coevolution": TrainerSpec(CoevolutionTrainer, load_mixture,
                               ADVERSARIAL_SECTIONS + ("coevolution",)),
    "egan": TrainerSpec(EGANTrainer, load_generator, ADVERSARIAL_SECTIONS + ("egan",),
                        mixed_precision=True),
    "mspg": TrainerSpec(MSPGTrainer, load_generator, ADVERSARIAL_SECTIONS + ("mspg",),
                        data_parallel=True, mixed_precision=True),
    "marl": TrainerSpec(MARLTrainer, load_agents, ("trainer", "marl", "eval", "log", "backend"),
                        generative=False),
})


def config_yaml(cfg: Config) -> str:
    """What a run's config.yaml holds: the resolved config, the sections its trainer reads first."""
    return dump_yaml(cfg, get_trainer(cfg.trainer.name).sections)


def get_trainer(name: str) -> TrainerSpec:
    """The registered trainer kind called `name`."""
    try:
        return TRAINERS[name]
    except KeyError:
        raise UserError(f"config key 'trainer.name': '{name}' is not available "
                        f"(expected one of: {', '.join(TRAINERS)})") from None
