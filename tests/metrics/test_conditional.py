"""Class-wise metrics compare equal numbers of real and generated samples per class, and at those
sizes separate a perfect class-conditional model from a shifted one (docs/diffusion.md)."""
import pytest
import torch

from genarena.config import DataConfig, EvalConfig
from genarena.data import build_dataset
from genarena.metrics.conditional import conditional_metrics


@pytest.fixture(scope="module")
def digits():
    return build_dataset(DataConfig(name="digits"))


def _model(dataset, shift: int):
    """Training images of the asked class (moved by `shift` pixels): a perfect or shifted model."""
    def sample_label(n: int, c: int) -> torch.Tensor:
        x = dataset.train_x[dataset.train_y == c][:n]
        return torch.roll(x, shifts=(shift, shift), dims=(2, 3))
    return sample_label


@pytest.mark.slow
def test_each_class_is_compared_at_equal_sizes_and_a_shift_is_seen(digits, feature_cache,
                                                                   monkeypatch):
    import genarena.metrics.conditional as conditional
    sizes, real_prdc = [], conditional.prdc
    monkeypatch.setattr(conditional, "prdc", lambda r, f, k, device=None: sizes.append((len(r), len(f))) or
                        real_prdc(r, f, k=k))
    cfg = EvalConfig(cache_dir=feature_cache)
    perfect = conditional_metrics(_model(digits, 0), digits, cfg, seed=0, n=500)
    per_class = [int((digits.test_y == c).sum()) for c in range(10)]
    assert sizes == [(m, m) for m in per_class]            # 50 fakes each, cut to the reals
    assert perfect["classwise_samples"] == min(per_class)
    shifted = conditional_metrics(_model(digits, 1), digits, cfg, seed=0, n=500)
    assert perfect["classwise_coverage"] > 0.6 > 0.3 > shifted["classwise_coverage"]
    assert perfect["classwise_fid"] < shifted["classwise_fid"]
