"""Every config choice is something a registry can build, and every registered thing is a choice
the config accepts: the two can never drift apart."""
import pytest

from genarena.coevolution.backends import BACKENDS
from genarena.coevolution.grid import NEIGHBOURHOODS
from genarena.config import (
    LOSS_DRAWS,
    BackendConfig,
    CoevolutionConfig,
    ControllerConfig,
    DiffusionConfig,
    GuidanceConfig,
    LossConfig,
    MARLConfig,
    ModelConfig,
    OptimConfig,
    TrainerConfig,
    choices_of,
)
from genarena.control import GRID_CONTROLLERS, PAIR_CONTROLLERS
from genarena.diffusion.classifier import CLASSIFIER_LOSSES
from genarena.diffusion.samplers import SAMPLERS
from genarena.diffusion.sde import SDES
from genarena.losses import LOSSES
from genarena.metrics.proxy import PROXY_KINDS
from genarena.nets import ARCHITECTURES
from genarena.nets.layers import _ACTIVATIONS
from genarena.rl.envs.tasks import TASKS
from genarena.rl.mixers import METHODS
from genarena.train.noise import LATENTS
from genarena.train.optim import OPTIMIZERS
from genarena.trainers import TRAINERS

# (config section, field, the names its registry knows)
REGISTRIES = [
    (ModelConfig, "arch", set(ARCHITECTURES)),
    (ModelConfig, "activation", set(_ACTIVATIONS)),
    (ModelConfig, "z_dist", set(LATENTS)),
    (LossConfig, "name", set(LOSSES) | set(LOSS_DRAWS)),    # the draws: per batch, of them
    (TrainerConfig, "name", set(TRAINERS)),
    (DiffusionConfig, "sde", set(SDES)),
    (DiffusionConfig, "sampler", set(SAMPLERS)),
    (GuidanceConfig, "classifier", set(CLASSIFIER_LOSSES) | {"none"}),
    (CoevolutionConfig, "neighbourhood", set(NEIGHBOURHOODS)),
    (CoevolutionConfig, "mixture_score", set(PROXY_KINDS)),
    (ControllerConfig, "name", set(PAIR_CONTROLLERS) | set(GRID_CONTROLLERS)),
    (ControllerConfig, "mixer", set(METHODS)),
    (MARLConfig, "method", set(METHODS)),
    (MARLConfig, "task", set(TASKS)),
    (OptimConfig, "name", set(OPTIMIZERS)),
    (BackendConfig, "name", set(BACKENDS)),
]


@pytest.mark.parametrize("section, key, registered", REGISTRIES,
                         ids=[f"{s.__name__}.{k}" for s, k, _ in REGISTRIES])
def test_config_choices_are_exactly_what_the_registry_builds(section, key, registered):
    assert set(choices_of(section, key)) == registered

