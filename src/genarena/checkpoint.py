"""Atomic files and safe checkpoints: temp file, fsync, rename; `weights_only=True` loading."""
from __future__ import annotations

import copy
import io
import os
import pickle
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from genarena.errors import UserError


def map_leaves(obj: Any, fn: Callable[[Any], Any]) -> Any:
    """Plain data (dicts, lists, tuples of tensors and numbers) with `fn` applied to every leaf:
    the one walk behind cloning, wire conversion and sizing of checkpointable states."""
    if isinstance(obj, dict):
        return {k: map_leaves(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(map_leaves(v, fn) for v in obj)
    return fn(obj)


def cpu_copy(obj: Any) -> Any:
    """A copy of plain data with every tensor copied to the CPU (copied on the CPU too): what
    crosses processes and checkpoints, and what the divergence guard keeps beside a GPU model."""
    return map_leaves(obj, lambda v: v.detach().to("cpu", copy=True) if isinstance(v, torch.Tensor)
                      else copy.deepcopy(v))


def leaves(obj: Any) -> Iterator[Any]:
    """Every leaf of plain data, in order."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from leaves(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from leaves(v)
    else:
        yield obj


def current_umask() -> int:
    """The process umask, read without changing it where Linux reports it (/proc), else by the
    classic set-and-restore."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` so that `path` holds either its old content or all of the new, never a part.

    The file gets the mode a plain open() would give it (0666 less the umask), not mkstemp's 0600,
    so colleagues can read a run's reports on a shared machine."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    """atomic_write_bytes for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`.lock while the block runs, so that of several processes
    wanting one cached file only the first computes it and the rest wait, then read it (POSIX
    flock; where fcntl is missing, no lock: each process computes and the atomic write wins)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:                                   # Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Serialise plain data (tensors, numbers, strings, lists, dicts) atomically."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint_file(path: str | Path, what: str = "checkpoint") -> Any:
    """torch.load with weights_only=True; arbitrary pickles and damaged files are user errors."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} '{path}' not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(f"{what} '{path}': refused, it needs arbitrary pickled objects "
                        "(only plain tensors, numbers, strings and containers are loaded)") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, IndexError,
            KeyError, TypeError, AttributeError) as exc:
        # a damaged file surfaces as whichever of these the unpickler meets first
        raise UserError(f"{what} '{path}': corrupt or truncated "
                        f"({type(exc).__name__})") from None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A genarena checkpoint (plain data with a 'format' entry), loaded safely."""
    state = load_checkpoint_file(path)
    if not isinstance(state, dict) or "format" not in state:
        raise UserError(f"checkpoint '{path}': not a genarena checkpoint (no 'format' entry)")
    return state
