"""The user's .npz files (docs/images.md): accepted layouts and every validation failure."""
import numpy as np
import pytest
import torch

from genarena.data.files import load_npz
from genarena.errors import UserError


def test_vector_data_with_modes(tmp_path):
    x = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=np.arange(100) % 4, modes=np.eye(3), mode_std=0.1)
    ds = load_npz(path)
    assert ds.sample_shape == (3,) and ds.num_classes == 4
    assert ds.modes.centres.shape == (3, 3) and ds.modes.std == pytest.approx(0.1)
    assert len(ds.train_x) == 92 and len(ds.test_x) == 8          # last 10% of each class (25 each)


def test_uint8_images_are_scaled_to_unit_range(tmp_path):
    path = tmp_path / "img.npz"
    np.savez(path, x=np.full((20, 8, 8), 255, np.uint8))
    ds = load_npz(path)
    assert ds.sample_shape == (1, 8, 8) and ds.value_range == (-1.0, 1.0)
    assert torch.all(ds.train_x == 1.0)


def test_array_stream_covers_every_sample_each_epoch(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(9, dtype=np.float32)[:, None])
    ds = load_npz(path)
    s = ds.stream(3, seed=0)
    seen = torch.cat([s.next()[0] for _ in range(3)]).flatten().sort().values
    assert seen.tolist() == list(range(9))


BAD = {
    "no_x": (dict(y=np.arange(3)), "no array 'x'"),
    "one_dim": (dict(x=np.arange(5.0)), "N×D"),
    "nan": (dict(x=np.array([[0.0, np.nan]])), "NaN"),
    "empty": (dict(x=np.zeros((0, 2))), "empty"),
    "labels": (dict(x=np.zeros((4, 2)), y=np.arange(3)), "3 labels"),
    "label_dtype": (dict(x=np.zeros((4, 2)), y=np.zeros(4)), "'y' must be a 1-D integer"),
    "modes_shape": (dict(x=np.zeros((4, 2)), modes=np.zeros((3, 5)), mode_std=0.1), "'modes' must be K×2"),
    "modes_alone": (dict(x=np.zeros((4, 2)), modes=np.zeros((3, 2))), "together"),
    "std": (dict(x=np.zeros((4, 2)), modes=np.zeros((3, 2)), mode_std=-1.0), "mode_std"),
    "channels": (dict(x=np.zeros((4, 5, 8, 8), np.uint8)), "channels"),
    "strings": (dict(x=np.array([["a", "b"]])), "numeric"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_name_the_file_and_the_problem(tmp_path, case):
    arrays, fragment = BAD[case]
    path = tmp_path / f"{case}.npz"
    np.savez(path, **arrays)
    with pytest.raises(UserError) as info:
        load_npz(path)
    assert str(path) in str(info.value) and fragment in str(info.value)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_npz(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(UserError, match="not a readable .npz"):
        load_npz(bad)
