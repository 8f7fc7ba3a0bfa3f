"""`genarena score A B`: FID, KID, IS and precision/recall/density/coverage between two image
sets, each an image folder, an .npz array, a run directory (sampled on the fly) or a built-in
dataset's reference split, on LeNet or FID Inception features.

A is the set being judged (its inception score is reported), B the reference: B's features go
through the on-disk reference cache, so scoring many runs against one dataset computes them once.
Precision and recall use k = 3 as Kynkäänniemi et al.; density and coverage k = 5 as Naeem et al.
"""
from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genarena.data.base import Dataset
from genarena.errors import UserError
from genarena.metrics.fid import fid
from genarena.metrics.kid import SEED as KID_SEED
from genarena.metrics.kid import kid
from genarena.metrics.prdc import prdc
from genarena.metrics.reference import FeatureNetwork, reference_features
from genarena.metrics.scores import inception_score

FEATURES = ("lenet", "fid-inception")
PR_K = 3                         # improved precision/recall (Kynkäänniemi et al. 2019)
DC_K = 5                         # density/coverage (Naeem et al. 2020)
PRDC_MAX_SAMPLES = 10_000
INCEPTION_SPLITS = 10


@dataclass
class ImageSet:
    """Images to score: uint8 or [-1, 1] float N×C×H×W, and their dataset if known (a run's or a
    built-in one's, which names the LeNet features)."""
    name: str
    x: Tensor
    dataset: Dataset | None = None


def _npz_images(path: Path) -> Tensor:
    """`x` of an .npz: N×C×H×W floats in [-1, 1], or uint8 N×H×W×C / N×H×W."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "x" not in npz.files:
                raise UserError(f"score input '{path}': no array 'x' (found: "
                                f"{', '.join(npz.files) or 'nothing'})")
            x = npz["x"]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise UserError(f"score input '{path}': not a readable .npz archive "
                        f"({type(exc).__name__})") from None
    if x.dtype == np.uint8:
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.shape[-1] not in (1, 3):
            raise UserError(f"score input '{path}': uint8 'x' must be N×H×W×C with 1 or 3 "
                            f"channels (or N×H×W), got shape {x.shape}")
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    if x.dtype.kind != "f" or x.ndim != 4 or x.shape[1] not in (1, 3):
        raise UserError(f"score input '{path}': 'x' must be float N×C×H×W in [-1, 1] with 1 or 3 "
                        f"channels, or uint8 N×H×W×C; got {x.dtype} of shape {x.shape}")
    if not np.isfinite(x).all() or x.min() < -1.0001 or x.max() > 1.0001:
        raise UserError(f"score input '{path}': float 'x' must lie in [-1, 1] (found "
                        f"[{x.min():.3g}, {x.max():.3g}])")
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).clamp(-1, 1)


def _folder_images(path: Path) -> Tensor:
    from genarena.data.files import image_files, read_image_files
    files = [f for f, _ in image_files(path)]
    if not files:
        raise UserError(f"score input '{path}': no .png/.jpg/.jpeg/.bmp images in it or in its "
                        "sub-folders")
    return torch.from_numpy(read_image_files(files, path, hint=" (score compares one size)"))


def load_image_set(spec: str, n: int | None = None, seed: int | None = None) -> ImageSet:
    """An image set from a run directory, an .npz file, an image folder or a dataset name; n:
    the samples a run draws (default its eval.n_samples), else the first n images; seed: of a
    run's samples (default the run's evaluation seed) and of a dataset's subset (default 0)."""
    from genarena.config import DataConfig
    from genarena.data import BUILTIN, build_dataset
    from genarena.run import RunDir
    path = Path(spec).expanduser()
    dataset: Dataset | None = None
    if path.is_dir() and RunDir(path).config_file.is_file():
        from genarena.api import load_run
        run = load_run(path)
        count = n or run.config.eval.n_samples
        return ImageSet(str(path), run.sample(count, seed=seed).detach().cpu().float(), run.dataset)
    if path.suffix == ".npz" and path.is_file():
        x = _npz_images(path)
    elif path.is_dir():
        x = _folder_images(path)
    elif spec in BUILTIN:
        dataset = build_dataset(DataConfig(name=spec))
        if len(dataset.sample_shape) != 3:
            raise UserError(f"score input '{spec}': a dataset of points, not images")
        total = len(dataset.test_x) if dataset.test_x is not None else 10_000
        x = dataset.reference(n or total, seed or 0)[0]
        return ImageSet(f"{spec} ({dataset.reference_split(n or total)})", x, dataset)
    else:
        raise UserError(f"score input '{spec}': not found (expected an image folder, an .npz "
                        f"file, a run directory or a dataset name: {', '.join(BUILTIN)})")
    if len(x) < 2:
        raise UserError(f"score input '{spec}': {len(x)} image(s); a score needs at least 2")
    return ImageSet(str(path), x[:n] if n else x, dataset)


def _network(a: ImageSet, b: ImageSet, features: str, weights: str, resize: str,
             dataset_name: str, cache: str) -> FeatureNetwork:
    """The feature network the score is computed on (LeNet needs a dataset to name it)."""
    if features == "fid-inception":
        if not weights:
            raise UserError("--features fid-inception needs --weights PATH (the "
                            "pt_inception-2015-12-05 state dict; nothing is downloaded)")
        from genarena.metrics.inception import inception_extractor
        return inception_extractor(weights, resize)
    from genarena.config import DataConfig
    from genarena.data import BUILTIN, build_dataset
    from genarena.metrics.features import feature_extractor
    if dataset_name and dataset_name not in BUILTIN:
        raise UserError(f"--dataset: unknown dataset '{dataset_name}' (expected one of: "
                        f"{', '.join(BUILTIN)})")
    dataset = build_dataset(DataConfig(name=dataset_name)) if dataset_name \
        else (b.dataset or a.dataset)
    if dataset is None:
        raise UserError("--features lenet: the LeNet is the one trained on a dataset; name it "
                        "with --dataset NAME, or pass a run or a dataset as A or B (or use "
                        "--features fid-inception --weights PATH)")
    if tuple(a.x.shape[1:]) != tuple(dataset.sample_shape):
        raise UserError(f"score input '{a.name}': images of shape {tuple(a.x.shape[1:])}, but "
                        f"the LeNet of '{dataset.name}' takes {tuple(dataset.sample_shape)}")
    return feature_extractor(dataset, cache)


def _as_unit_range(x: Tensor) -> Tensor:
    """uint8 images to floats in [-1, 1], as genarena's datasets hold them (for the LeNet)."""
    return x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x


def score(a: ImageSet, b: ImageSet, features: str = "lenet", weights: str = "",
          resize: str = "torch-fidelity", dataset_name: str = "", cache: str = "",
          device: torch.device | None = None) -> dict[str, Any]:
    """Every score of A against the reference B, with what it was computed on; the feature
    network and the k-NN distances run on `device` (None: the CPU)."""
    if features not in FEATURES:
        raise UserError(f"--features: expected one of {', '.join(FEATURES)}, got '{features}'")
    if tuple(a.x.shape[1:]) != tuple(b.x.shape[1:]):
        raise UserError(f"score inputs: '{a.name}' holds images of shape {tuple(a.x.shape[1:])}, "
                        f"'{b.name}' of shape {tuple(b.x.shape[1:])}; both must be one size")
    start = time.perf_counter()
    net = _network(a, b, features, weights, resize, dataset_name, cache).on(device)
    xa, xb = (s.x if features == "fid-inception" else _as_unit_range(s.x) for s in (a, b))
    f_b, _ = reference_features(xb, net, cache, label=f"score-{Path(b.name).name}")
    f_a, l_a = net.features_and_logits(xa)
    kid_mean, kid_sd = kid(f_b, f_a)
    m = min(len(f_a), len(f_b), PRDC_MAX_SAMPLES)
    pr = prdc(f_b[:m], f_a[:m], k=PR_K, device=device) if m > PR_K else {}
    dc = prdc(f_b[:m], f_a[:m], k=DC_K, device=device) if m > DC_K else {}
    inception = features == "fid-inception"
    out: dict[str, Any] = {
        "fid": fid(f_b, f_a), "kid": kid_mean, "kid_sd": kid_sd,
        "inception_score": inception_score(
            net.probs(l_a), splits=INCEPTION_SPLITS if inception else 1,
            shuffle_seed=KID_SEED if inception else None),
        "precision": pr.get("precision"), "recall": pr.get("recall"),
        "density": dc.get("density"), "coverage": dc.get("coverage"),
        "a": a.name, "b": b.name, "a_samples": len(f_a), "b_samples": len(f_b),
        "prdc_samples": m, "features": net.name,
    }
    if inception:
        out.update({"resize": resize, "weights_sha256": net.weights_sha256})  # type: ignore[attr-defined]
    out["seconds"] = round(time.perf_counter() - start, 2)
    return out
