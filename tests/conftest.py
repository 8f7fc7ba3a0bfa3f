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


def assert_user_error(result: tuple[int, str, str], *fragments: str) -> None:
    """Exit 2 with exactly one stderr line, starting 'error:', naming every fragment."""
    code, _, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
