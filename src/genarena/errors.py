"""User-facing errors: bad commands, configs, data files or checkpoints (exit code 2)."""


class UserError(Exception):
    """An input problem the user can fix; the CLI prints it as one `error:` line and exits 2."""


class DivergenceError(Exception):
    """Training produced NaN/Inf more often than the divergence guard may retry (exit 1)."""
