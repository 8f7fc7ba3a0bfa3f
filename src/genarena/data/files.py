"""The user's own data by path (SPEC 2.2), validated before any training starts."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from genarena.data.base import Dataset, ModeInfo, holdout_split
from genarena.errors import UserError

TEST_FRACTION = 0.1


def _fail(path: Path, what: str) -> UserError:
    return UserError(f"data file '{path}': {what}")


def _images_to_unit_range(x: np.ndarray, path: Path) -> np.ndarray:
    """uint8 images -> [-1, 1]; float images are taken as already scaled."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 127.5 - 1.0
    return x.astype(np.float32)


def load_npz(path: str | Path) -> Dataset:
    """An .npz with `x` (N×D, N×H×W or N×C×H×W), optional `y`, `modes` (K×D) and `mode_std`."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "not found (expected an .npz file with an array 'x')")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise _fail(path, f"not a readable .npz archive ({type(exc).__name__})") from None
    if "x" not in arrays:
        raise _fail(path, f"no array 'x' (found: {', '.join(arrays) or 'nothing'})")
    x = arrays["x"]
    if x.dtype.kind not in "fiu":
        raise _fail(path, f"'x' must be numeric, got dtype {x.dtype}")
    if x.ndim not in (2, 3, 4):
        raise _fail(path, f"'x' must be N×D, N×H×W or N×C×H×W, got shape {x.shape}")
    if len(x) == 0 or x[0].size == 0:
        raise _fail(path, f"'x' is empty (shape {x.shape})")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise _fail(path, "'x' contains NaN or Inf")
    images = x.ndim > 2
    if images:
        if x.ndim == 3:
            x = x[:, None]
        if x.shape[1] not in (1, 3):
            raise _fail(path, f"image 'x' must have 1 or 3 channels first, got shape {x.shape}")
        x = _images_to_unit_range(x, path)
    else:
        x = x.astype(np.float32)

    y = arrays.get("y")
    if y is not None:
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise _fail(path, f"'y' must be a 1-D integer array, got {y.dtype} shape {y.shape}")
        if len(y) != len(x):
            raise _fail(path, f"'y' has {len(y)} labels but 'x' has {len(x)} samples")
        if y.min() < 0:
            raise _fail(path, "'y' must hold non-negative class ids")

    modes = None
    if "modes" in arrays or "mode_std" in arrays:
        if images:
            raise _fail(path, "'modes' are only supported for N×D data")
        if "modes" not in arrays or "mode_std" not in arrays:
            raise _fail(path, "'modes' and 'mode_std' must be given together")
        centres, std = arrays["modes"], arrays["mode_std"]
        if centres.ndim != 2 or centres.shape[1] != x.shape[1] or len(centres) == 0:
            raise _fail(path, f"'modes' must be K×{x.shape[1]}, got shape {centres.shape}")
        if centres.dtype.kind not in "fiu" or not np.isfinite(centres).all():
            raise _fail(path, "'modes' must be finite numbers")
        if std.size != 1 or std.dtype.kind not in "fiu" or not float(std) > 0 \
                or not np.isfinite(std).all():
            raise _fail(path, f"'mode_std' must be one positive number, got {std!r}")
        k = len(centres)
        modes = ModeInfo(torch.as_tensor(centres, dtype=torch.float32), float(std),
                         torch.full((k,), 1.0 / k))

    xt = torch.from_numpy(np.ascontiguousarray(x))
    yt = torch.from_numpy(y.astype(np.int64)) if y is not None else None
    train_x, train_y, test_x, test_y = holdout_split(xt, yt, TEST_FRACTION)
    return Dataset(
        name=path.stem, sample_shape=tuple(xt.shape[1:]), description=f"user data {path}",
        value_range=(-1.0, 1.0) if images else None,
        num_classes=int(yt.max()) + 1 if yt is not None else 0, modes=modes,
        train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y,
    )


def load_path(path: str) -> Dataset:
    """Dispatch a user path to its loader by what it is."""
    p = Path(path)
    if p.suffix == ".npz":
        return load_npz(p)
    if not p.exists():
        raise UserError(f"data path '{path}' not found")
    raise UserError(f"data path '{path}': unsupported (expected an .npz file)")
