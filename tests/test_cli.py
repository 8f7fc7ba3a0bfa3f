"""The command line: happy paths, and the bad-input battery of docs/foundation.md (exit 2, one error line)."""
import io
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import assert_user_error, fast_args


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished fast run shared by the read-only command tests."""
    from genarena.cli import main
    out = tmp_path_factory.mktemp("runs") / "fast"
    assert main(["train", "ring8-nsgan", "--out", str(out), "--quiet", *fast_args()]) == 0
    return out


def test_train_prints_the_run_directory_last(cli, tmp_path):
    code, out, _ = cli("train", "ring8-pacgan", "--out", tmp_path / "r", *fast_args())
    assert code == 0
    assert out.strip().splitlines()[-1] == str(tmp_path / "r")
    assert "modes_captured" in out
    for name in ("config.yaml", "metrics.jsonl", "summary.json", "checkpoints/last.pt",
                 "samples/final.png", "report.html"):
        assert (tmp_path / "r" / name).exists(), name
    assert not list((tmp_path / "r").rglob("*.tmp"))


def test_eval_json(cli, trained):
    code, out, _ = cli("eval", trained, "--n", "300", "--json")
    metrics = json.loads(out)
    assert code == 0 and metrics["n_samples"] == 300 and "modes_captured" in metrics


def test_eval_matches_the_summary(cli, trained):
    summary = json.loads((trained / "summary.json").read_text())
    code, out, _ = cli("eval", trained, "--json")
    assert code == 0 and json.loads(out) == summary["metrics"]


def test_sample_npz_and_png(cli, trained, tmp_path):
    assert cli("sample", trained, "--n", "50", "--out", tmp_path / "s.npz")[0] == 0
    assert np.load(tmp_path / "s.npz")["x"].shape == (50, 2)
    assert cli("sample", trained, "--n", "50", "--out", tmp_path / "s.png")[0] == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_markdown(cli, trained):
    code, out, _ = cli("compare", trained, trained, "--markdown")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].startswith("| run |") and len(lines) == 4


def test_report(cli, trained):
    code, out, _ = cli("report", trained)
    assert code == 0 and out.strip().endswith("report.html")
    page = (trained / "report.html").read_text()
    assert "modes_captured" in page and "data:image/png;base64" in page and "http" not in page


def test_presets_and_datasets_listings(cli):
    code, out, _ = cli("presets")
    assert code == 0 and "ring8-nsgan" in out and "_toy-gan" not in out
    code, out, _ = cli("datasets")
    assert code == 0 and "grid25" in out and "σ=0.05" in out


def test_out_dir_holding_a_run_is_refused(cli, trained):
    assert_user_error(cli("train", "ring8-nsgan", "--out", trained, *fast_args()),
                      str(trained), "--resume")


# ---- the bad-input battery ----------------------------------------------------------------------

def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case,fragment", [
    ("missing", "not found"),
    ("corrupt", "not a readable .npz"),
    ("no_x", "no array 'x'"),
    ("misshaped", "N×D"),
    ("nan", "NaN"),
    ("empty", "empty"),
    ("label_count", "labels"),
])
def test_bad_data_files(cli, tmp_path, case, fragment):
    path = tmp_path / f"{case}.npz"
    if case == "corrupt":
        path.write_bytes(b"PK\x03\x04 truncated")
    elif case == "no_x":
        _npz(path, data=np.zeros((4, 2)))
    elif case == "misshaped":
        _npz(path, x=np.zeros(7))
    elif case == "nan":
        _npz(path, x=np.array([[np.inf, 0.0]] * 4))
    elif case == "empty":
        _npz(path, x=np.zeros((0, 2)))
    elif case == "label_count":
        _npz(path, x=np.zeros((4, 2)), y=np.arange(5))
    out = tmp_path / "run"
    assert_user_error(cli("train", "ring8-nsgan", f"data.path={path}", "--out", out, *fast_args()),
                      str(path), fragment)
    assert not out.exists(), "a rejected input must not leave a half-made run directory"


@pytest.mark.parametrize("override,fragment", [
    ("optim.lr_g=-1e-3", "optim.lr_g"),
    ("optim.lr_d=.nan", "optim.lr_d"),
    ("optim.lrg=1", "optim.lrg"),
    ("steps=many", "steps"),
    ("loss.name=wgan2", "loss.name"),
    ("data.name=cifar", "data.name"),
    ("trainer.d_steps=0", "trainer.d_steps"),
    ("novalue", "KEY=VALUE"),
])
def test_bad_config_values(cli, tmp_path, override, fragment):
    assert_user_error(cli("train", "ring8-nsgan", override, "--out", tmp_path / "r"), fragment)


def test_malformed_yaml_and_unknown_preset(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [unclosed\n")
    assert_user_error(cli("train", bad), str(bad), "malformed YAML")
    assert_user_error(cli("train", "ring9-nsgan"), "ring9-nsgan")


def test_bad_command_usage(cli):
    assert_user_error(cli("trian"), "invalid choice")
    assert_user_error(cli("sample", "somewhere"), "--n")
    assert_user_error(cli("train", "ring8-nsgan", "--bogus"), "--bogus")


def test_missing_run_directory(cli, tmp_path):
    assert_user_error(cli("eval", tmp_path / "none"), "none", "config.yaml")


def _copy_run(src, dst):
    import shutil
    shutil.copytree(src, dst)
    return dst


def test_truncated_checkpoint(cli, trained, tmp_path):
    run = _copy_run(trained, tmp_path / "trunc")
    ckpt = run / "checkpoints" / "last.pt"
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    assert_user_error(cli("eval", run), str(ckpt), "corrupt or truncated")
    assert_user_error(cli("train", "--resume", run), str(ckpt), "corrupt or truncated")


class Payload:
    """An object that only a full unpickler could rebuild."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_needing_arbitrary_pickles_is_refused(cli, trained, tmp_path, capsys):
    run = _copy_run(trained, tmp_path / "evil")
    ckpt = run / "checkpoints" / "last.pt"
    state = torch.load(ckpt, weights_only=True)
    state["extra"] = Payload()
    buf = io.BytesIO()
    torch.save(state, buf, pickle_module=pickle)
    ckpt.write_bytes(buf.getvalue())
    result = cli("eval", run)
    assert_user_error(result, str(ckpt), "arbitrary pickled objects")
    assert "this must never run" not in result[1]


def test_non_genarena_checkpoint(cli, trained, tmp_path):
    run = _copy_run(trained, tmp_path / "foreign")
    torch.save({"weights": torch.zeros(2)}, run / "checkpoints" / "last.pt")
    assert_user_error(cli("eval", run), "not a genarena checkpoint")


def test_sample_output_suffix(cli, trained, tmp_path):
    assert_user_error(cli("sample", trained, "--n", "5", "--out", tmp_path / "x.jpg"), "x.jpg")
    assert_user_error(cli("sample", trained, "--n", "0", "--out", tmp_path / "x.npz"), "--n")
    assert_user_error(cli("sample", trained, "--n", "5", "--out", tmp_path / "x.npz", "--label", "1"),
                      "--label")


def test_real_process_exit_code_and_single_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "genarena", "train", "ring8-nsgan",
                           "optim.lr_g=-1", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error:")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("kind", ["idx", "cifar", "folder"])
def test_bad_image_folders(cli, tmp_path, kind):
    folder = tmp_path / kind
    folder.mkdir()
    if kind == "idx":
        (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00")
        (folder / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x00")
        expected = "truncated IDX header"
    elif kind == "cifar":
        (folder / "data_batch_1").write_bytes(b"\x80\x02}q\x00(")
        expected = "not a CIFAR-10 python batch"
    else:
        (folder / "cats").mkdir()
        (folder / "cats" / "a.png").write_bytes(b"\x89PNG broken")
        expected = "not a readable image"
    out = tmp_path / "run"
    assert_user_error(cli("train", "mnist5k-nsgan", f"data.path={folder}", "--out", out), kind,
                      expected)
    assert not out.exists()
