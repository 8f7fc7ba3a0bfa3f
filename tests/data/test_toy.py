"""The toy sets of docs/images.md: exact centres, σ, labels and resumable batch streams."""
import math

import pytest
import torch

from genarena.config import DataConfig
from genarena.data import build_dataset
from genarena.errors import UserError


def test_ring8_has_eight_distinct_centres_on_the_unit_circle():
    ds = build_dataset(DataConfig(name="ring8"))
    c = ds.modes.centres
    assert c.shape == (8, 2)
    assert torch.allclose(c.norm(dim=1), torch.ones(8))
    assert torch.cdist(c, c).add(torch.eye(8) * 10).min() > 0.7   # 2 sin(π/8) ≈ 0.765
    assert torch.allclose(c[2], torch.tensor([0.0, 1.0]), atol=1e-6)
    assert ds.modes.std == 0.01


def test_grid25_centres_and_std():
    ds = build_dataset(DataConfig(name="grid25"))
    assert ds.modes.centres.shape == (25, 2) and ds.modes.std == 0.05
    assert sorted(set(ds.modes.centres[:, 0].tolist())) == [-4, -2, 0, 2, 4]


def test_mixture_samples_sit_at_their_labelled_centre():
    ds = build_dataset(DataConfig(name="grid25"))
    x, y = ds.sampler(20_000, torch.Generator().manual_seed(0))
    offsets = x - ds.modes.centres[y]
    assert offsets.std().item() == pytest.approx(0.05, rel=0.05)
    assert torch.bincount(y, minlength=25).min() > 600


def test_moons_centred_and_scaled():
    ds = build_dataset(DataConfig(name="moons"))
    x, y = ds.sampler(50_000, torch.Generator().manual_seed(0))
    assert x.mean(0).abs().max() < 0.3
    assert x[:, 0].max() == pytest.approx(30.0, abs=0.1)    # (2 - 0.5) * 20
    assert set(y.unique().tolist()) == {0, 1}
    outer = x[y == 0] / 20 + torch.tensor([0.5, 0.25])
    assert torch.allclose(outer.norm(dim=1), torch.ones(int((y == 0).sum())), atol=1e-5)


def test_stream_resumes_exactly_from_its_state():
    ds = build_dataset(DataConfig(name="ring8"))
    a = ds.stream(64, seed=5)
    a.next()
    state = a.state_dict()
    expected = a.next()[0]
    b = ds.stream(64, seed=99)
    b.load_state_dict(state)
    assert torch.equal(b.next()[0], expected)


def test_unknown_dataset_names_the_key():
    with pytest.raises(UserError, match="data.name"):
        build_dataset(DataConfig(name="cifar1000"))


def test_ring8_angles_are_multiples_of_pi_over_4():
    c = build_dataset(DataConfig(name="ring8")).modes.centres
    angles = torch.atan2(c[:, 1], c[:, 0]).remainder(2 * math.pi)
    assert torch.allclose(angles, torch.arange(8) * math.pi / 4, atol=1e-5)
