"""genarena: train generative models that do not collapse, and compare methods side by side."""
from genarena.api import Run, load_run, train
from genarena.config import Config, load_config

__version__ = "0.1.0"
__all__ = ["Config", "Run", "load_config", "load_run", "train", "__version__"]
