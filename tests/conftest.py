"""Shared test helpers: run the CLI in-process and capture its exit code and output."""
from __future__ import annotations

import os

import pytest
import torch

from genarena.cli import main

# One torch thread per test process (make test runs one process per core), inherited by the
# processes that tests start.
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """`cuda` tests run wherever CUDA exists; elsewhere they skip and say why."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device here: the cuda tests run on a GPU machine")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same global RNG state and one torch thread, so no test depends
    on the order (or on a test before it that changed the thread count)."""
    torch.manual_seed(0)
    torch.set_num_threads(1)


@pytest.fixture
def cli(capsys):
    """cli(*args) -> (exit code, stdout, stderr) of `genarena args...`."""
    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory):
    """A cache directory shared by the whole session and, under pytest-xdist, by every worker (the
    workers' temporary roots are siblings), so the MNIST-5k classifier trains once: the first
    worker to need it trains it under the cache's lock (metrics.features.exclusive), the others
    wait and read it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    path = root / "feature-cache"
    path.mkdir(exist_ok=True)
    return str(path)


@pytest.fixture(scope="session")
def mnist_features(feature_cache):
    """The MNIST-5k domain classifier (trained on first use into the session cache)."""
    from genarena.config import DataConfig
    from genarena.data import build_dataset
    from genarena.metrics.features import feature_extractor
    return feature_extractor(build_dataset(DataConfig(name="mnist5k")), feature_cache)
