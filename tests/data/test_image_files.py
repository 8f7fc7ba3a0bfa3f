"""The user's image folders (docs/images.md): MNIST IDX, CIFAR-10 batches, Pillow image folders."""
import gzip
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from genarena.data.files import load_path
from genarena.errors import UserError


def write_idx(path, array, gz=False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_with_test_files(tmp_path, gz):
    suffix = ".gz" if gz else ""
    rng = np.random.default_rng(0)
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", rng.integers(0, 256, (30, 28, 28)), gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", np.arange(30) % 10, gz)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", np.full((10, 28, 28), 255), gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", np.arange(10), gz)
    ds = load_path(str(tmp_path))
    assert ds.sample_shape == (1, 28, 28) and ds.num_classes == 10
    assert len(ds.train_x) == 30 and len(ds.test_x) == 10
    assert ds.test_x.max() == 1.0 and ds.train_x.min() >= -1.0


def test_idx_corrupt_and_mismatched(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 4, 4)))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4))
    with pytest.raises(UserError, match="4 labels for 5 images"):
        load_path(str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 7)
    with pytest.raises(UserError, match="truncated IDX header"):
        load_path(str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"GIF89a....")
    with pytest.raises(UserError, match="not an IDX file"):
        load_path(str(tmp_path))


def write_cifar(path, n, label_offset=0):
    rng = np.random.default_rng(n)
    batch = {b"batch_label": b"test", b"labels": [(i + label_offset) % 10 for i in range(n)],
             b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [b"x.png"] * n}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def test_cifar_batches(tmp_path):
    write_cifar(tmp_path / "data_batch_1", 20)
    write_cifar(tmp_path / "data_batch_2", 20)
    write_cifar(tmp_path / "test_batch", 10)
    ds = load_path(str(tmp_path))
    assert ds.sample_shape == (3, 32, 32) and len(ds.train_x) == 40 and len(ds.test_x) == 10


class Exploit:
    def __reduce__(self):
        return (print, ("unpickled code ran",))


def test_cifar_restricted_unpickler_refuses_code(tmp_path, capsys):
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Exploit(), b"labels": []}, f, protocol=2)
    with pytest.raises(UserError, match="not allowed"):
        load_path(str(tmp_path))
    assert "unpickled code ran" not in capsys.readouterr().out


def test_cifar_wrong_contents(tmp_path):
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({b"data": np.zeros((3, 10), np.uint8), b"labels": [0, 1, 2]}, f, protocol=2)
    with pytest.raises(UserError, match="N×3072 uint8"):
        load_path(str(tmp_path))
    (tmp_path / "data_batch_1").write_bytes(b"garbage")
    with pytest.raises(UserError, match="not a CIFAR-10 python batch"):
        load_path(str(tmp_path))


def test_image_folder_resized_and_labelled(tmp_path):
    for cls, colour in (("cats", 0), ("dogs", 255)):
        (tmp_path / cls).mkdir()
        for i in range(12):
            Image.new("RGB", (20, 16), (colour, i * 10, 0)).save(tmp_path / cls / f"{i}.png")
    ds = load_path(str(tmp_path), resolution=8)
    assert ds.sample_shape == (3, 8, 8) and ds.num_classes == 2
    assert len(ds.train_x) + len(ds.test_x) == 24 and len(ds.test_x) == 2


def test_grayscale_folder_keeps_one_channel(tmp_path):
    (tmp_path / "a").mkdir()
    for i in range(3):
        Image.new("L", (8, 8), i * 50).save(tmp_path / "a" / f"{i}.png")
    assert load_path(str(tmp_path)).sample_shape == (1, 8, 8)


def test_image_folder_errors(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "a" / "0.png")
    Image.new("L", (9, 9)).save(tmp_path / "a" / "1.png")
    with pytest.raises(UserError, match="set data.resolution"):
        load_path(str(tmp_path))
    (tmp_path / "a" / "2.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="2.png.*not a readable image"):
        load_path(str(tmp_path), resolution=8)


def test_unsupported_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="unsupported"):
        load_path(str(tmp_path))
