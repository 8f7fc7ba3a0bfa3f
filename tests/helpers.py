"""Test helpers: a tiny configuration that trains in about a second, and error-line checks."""

FAST = {
    "steps": 40,
    "model.g_hidden": [32, 32], "model.d_hidden": [32],
    "data.batch_size": 64, "eval.n_samples": 256, "eval.interval": 0,
    "log.interval": 10, "log.checkpoint_interval": 20, "backend.threads": 1,
}


def fast_args(**extra):
    """FAST (plus extras) as command-line overrides."""
    merged = {**FAST, **extra}
    return [f"{k}={v}" for k, v in merged.items()]


def assert_user_error(result: tuple[int, str, str], *fragments: str) -> None:
    """Exit 2 with exactly one stderr line, starting 'error:', naming every fragment."""
    code, _, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
