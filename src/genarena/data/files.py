"""The user's own data by path (docs/images.md), validated before any training starts."""
from __future__ import annotations

import gzip
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genarena.data.base import Dataset, ModeInfo, holdout_split
from genarena.errors import UserError

TEST_FRACTION = 0.1


def _fail(path: Path, what: str) -> UserError:
    return UserError(f"data file '{path}': {what}")


def _images_to_unit_range(x: np.ndarray) -> np.ndarray:
    """uint8 images -> [-1, 1]; float images are taken as already scaled."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 127.5 - 1.0
    return x.astype(np.float32)


def _image_tensor(x: np.ndarray) -> Tensor:
    """uint8 or float N×C×H×W images as a contiguous float32 tensor in [-1, 1] (what trainers take)."""
    return torch.from_numpy(np.ascontiguousarray(_images_to_unit_range(x)))


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
        x = _images_to_unit_range(x)
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


def _read_maybe_gz(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise _fail(path, f"unreadable ({type(exc).__name__})") from None


def read_idx(path: Path) -> np.ndarray:
    """An MNIST IDX file (plain or .gz): magic 0x0000 0x08 (uint8) ndim, big-endian dims, data."""
    raw = _read_maybe_gz(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] == 0:
        raise _fail(path, "not an IDX file of unsigned bytes (expected magic 00 00 08 ndim)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise _fail(path, "truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise _fail(path, f"IDX body has {len(body)} bytes, header says {dims} "
                          f"({int(np.prod(dims))} bytes)")
    return np.frombuffer(body, np.uint8).reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_idx_folder(folder: Path) -> Dataset:
    """train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz], and t10k-* as the test split."""
    def pair(prefix: str) -> tuple[Tensor, Tensor] | None:
        img, lab = _find(folder, f"{prefix}-images-idx3-ubyte"), _find(folder, f"{prefix}-labels-idx1-ubyte")
        if img is None:
            return None
        if lab is None:
            raise _fail(folder, f"has {img.name} but no {prefix}-labels-idx1-ubyte[.gz]")
        x, y = read_idx(img), read_idx(lab)
        if x.ndim != 3 or y.ndim != 1:
            raise _fail(img, f"expected N×H×W images and N labels, got {x.shape} and {y.shape}")
        if len(x) != len(y):
            raise _fail(lab, f"{len(y)} labels for {len(x)} images in {img.name}")
        if len(x) == 0:
            raise _fail(img, "holds no images")
        return _image_tensor(x[:, None]), torch.from_numpy(y.astype(np.int64))
    train = pair("train")
    assert train is not None
    test = pair("t10k")
    return _labelled_images(folder.name, str(folder), *train, test)


class _CifarUnpickler(pickle.Unpickler):
    """Only what CIFAR-10 python batches contain: dicts, lists, bytes and numpy arrays."""
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N×3×32×32 uint8, N labels) of one CIFAR-10 python batch, via the restricted unpickler."""
    try:
        with open(path, "rb") as f:
            batch = _CifarUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, OSError) as exc:
        raise _fail(path, f"not a CIFAR-10 python batch ({exc})"[:200]) from None
    if not isinstance(batch, dict):
        raise _fail(path, "not a CIFAR-10 python batch (expected a dict)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 \
            or data.dtype != np.uint8:
        raise _fail(path, "expected 'data' as an N×3072 uint8 array")
    if labels is None or len(labels) != len(data):
        raise _fail(path, f"expected {len(data)} 'labels'")
    return data.reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)


def load_cifar_folder(folder: Path) -> Dataset:
    """data_batch_1..5 as the train split, test_batch (if present) as the test split."""
    batches = [folder / f"data_batch_{i}" for i in range(1, 6) if (folder / f"data_batch_{i}").is_file()]
    parts = [read_cifar_batch(p) for p in batches]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    train = (_image_tensor(x), torch.from_numpy(y))
    test = None
    if (folder / "test_batch").is_file():
        tx, ty = read_cifar_batch(folder / "test_batch")
        test = (_image_tensor(tx), torch.from_numpy(ty))
    return _labelled_images(folder.name, str(folder), *train, test)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def image_files(folder: Path) -> list[tuple[Path, int]]:
    """(file, class id): root/CLASS/* with classes sorted by name, or root/* as one class."""
    def images_in(d: Path) -> list[Path]:
        return [f for f in sorted(d.iterdir()) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    classes = sorted(d for d in folder.iterdir() if d.is_dir())
    files = [(f, i) for i, d in enumerate(classes) for f in images_in(d)]
    return files or [(f, 0) for f in images_in(folder)]


def read_image_files(files: list[Path], where: Path, resolution: int = 0,
                     hint: str = "; set data.resolution") -> np.ndarray:
    """uint8 N×C×H×W images read with Pillow: one channel when every file is grey, else RGB;
    resized (bilinear) to `resolution` when it is given, else all of one square size."""
    from PIL import Image, UnidentifiedImageError
    images = []
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                images.append(im.copy())
        except (UnidentifiedImageError, OSError) as exc:
            raise _fail(f, f"not a readable image ({type(exc).__name__})") from None
    gray = all(im.mode in ("L", "1", "I;16", "I") for im in images)
    size = resolution or images[0].size[0]
    if not resolution and any(im.size != (size, size) for im in images):
        raise _fail(where, f"images differ in size or are not square{hint}")
    arr = np.stack([np.asarray(im.convert("L" if gray else "RGB").resize((size, size),
                                                                           Image.Resampling.BILINEAR))
                    for im in images])
    return arr[:, None] if gray else arr.transpose(0, 3, 1, 2)


def load_image_folder(folder: Path, resolution: int) -> Dataset:
    """root/CLASS/*.png|jpg (classes sorted by name) or a flat root/*.png|jpg (one unlabelled class),
    read with Pillow and resized to data.resolution."""
    files = image_files(folder)
    if not files:
        raise _fail(folder, "no images found (expected root/CLASS/*.png|jpg or root/*.png|jpg)")
    arr = read_image_files([f for f, _ in files], folder, resolution)
    labelled = any(f.parent != folder for f, _ in files)
    y = torch.tensor([i for _, i in files], dtype=torch.int64) if labelled else None
    return _labelled_images(folder.name, str(folder), _image_tensor(arr), y, None)


def _labelled_images(name: str, where: str, x: Tensor, y: Tensor | None,
                     test: tuple[Tensor, Tensor] | None) -> Dataset:
    """An image Dataset in [-1, 1]; without labels (y None) it is one unlabelled class."""
    if test is None:
        train_x, train_y, test_x, test_y = holdout_split(x, y, TEST_FRACTION)
    else:
        (train_x, train_y), (test_x, test_y) = (x, y), test
    return Dataset(name=name, sample_shape=tuple(x.shape[1:]), description=f"user data {where}",
                   value_range=(-1.0, 1.0), num_classes=int(y.max()) + 1 if y is not None else 0,
                   train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y)


def load_path(path: str, resolution: int = 0) -> Dataset:
    """Dispatch a user path to its loader: .npz, IDX folder, CIFAR-10 folder or image folder."""
    p = Path(path)
    if p.suffix == ".npz":
        return load_npz(p)
    if not p.exists():
        raise UserError(f"data path '{path}' not found")
    if p.is_dir():
        if _find(p, "train-images-idx3-ubyte"):
            return load_idx_folder(p)
        if (p / "data_batch_1").is_file():
            return load_cifar_folder(p)
        if image_files(p):
            return load_image_folder(p, resolution)
    raise UserError(f"data path '{path}': unsupported (expected an .npz file, an MNIST IDX folder, "
                    "a CIFAR-10 python-batches folder, or an image folder root/CLASS/*.png "
                    "or root/*.png)")
