"""The reference libraries of the FID parity tests, imported without torchvision.

torch-fidelity and clean-fid both declare torchvision, which cannot be imported beside the pinned
torch, so `make test` installs them with --no-deps. Their packages' __init__ (torch-fidelity's)
pulls in torchvision through dataset helpers the parity tests do not use; the modules the tests
need (the Inception network, the TF1 resize, the FID and KID formulas, clean-fid's resizer) do
not, and are imported here with the package's __init__ bypassed.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types

import pytest


def _bare_package(name: str) -> types.ModuleType:
    """The installed package `name` as an empty module whose submodules import normally."""
    if getattr(sys.modules.get(name), "__bare__", False):
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{name} is not installed (make test installs it with --no-deps)")
    package = types.ModuleType(name)
    package.__path__ = list(spec.submodule_search_locations)
    package.__bare__ = True  # type: ignore[attr-defined]
    sys.modules[name] = package
    return package


def torch_fidelity(*modules: str) -> list[types.ModuleType]:
    """torch-fidelity's named modules; its `utils` (torchvision) is replaced by the four names
    metric_kid and metric_fid import from it, none of which the formulas call."""
    _bare_package("torch_fidelity")
    if "torch_fidelity.utils" not in sys.modules:
        utils = types.ModuleType("torch_fidelity.utils")
        for fn in ("create_feature_extractor", "extract_featuresdict_from_input_id_cached",
                   "resolve_feature_extractor", "resolve_feature_layer_for_metric",
                   "get_cacheable_input_name", "cache_lookup_one_recompute_on_miss"):
            setattr(utils, fn, None)
        sys.modules["torch_fidelity.utils"] = utils
    return [importlib.import_module(f"torch_fidelity.{m}") for m in modules]


def clean_fid_resizer():
    """clean-fid's "clean" resize (PIL bicubic on float channels) of one H×W×3 uint8 image."""
    _bare_package("cleanfid")
    return importlib.import_module("cleanfid.resize").build_resizer("clean")
