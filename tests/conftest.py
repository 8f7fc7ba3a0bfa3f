"""Shared test helpers: run the CLI in-process and capture its exit code and output."""
from __future__ import annotations

import pytest
import torch

from genarena.cli import main

torch.set_num_threads(1)


@pytest.fixture
def cli(capsys):
    """cli(*args) -> (exit code, stdout, stderr) of `genarena args...`."""
    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err
    return run
