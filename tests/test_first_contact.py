"""A user's first hour: their own data in every documented format trains and evaluates, paths
work from anywhere, files are readable by colleagues, and the CLI says what it will do."""
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import yaml
from data.test_image_files import write_cifar, write_idx
from helpers import assert_user_error
from PIL import Image

# A DCGAN that builds for any of the test images, trained for 10 steps, evaluated on few samples.
TINY = ["steps=10", "data.batch_size=8", "model.width=8", "model.z_dim=8", "eval.n_samples=64",
        "eval.interval=0", "log.interval=5", "log.checkpoint_interval=5", "backend.threads=1"]


def _class_folders(root: Path) -> Path:
    for cls, colour in (("cats", 30), ("dogs", 220)):
        (root / cls).mkdir(parents=True)
        for i in range(10):
            Image.new("RGB", (8, 8), (colour, i * 20, 0)).save(root / cls / f"{i}.png")
    return root


def _flat_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    for i in range(12):
        Image.new("L", (8, 8), i * 20).save(root / f"{i:02d}.jpg")
    return root


def _idx_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    write_idx(root / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (40, 28, 28)), gz=True)
    write_idx(root / "train-labels-idx1-ubyte.gz", np.arange(40) % 10, gz=True)
    return root


def _cifar_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    write_cifar(root / "data_batch_1", 30)
    write_cifar(root / "test_batch", 10)
    return root


@pytest.mark.parametrize("make", [_class_folders, _flat_folder, _idx_folder, _cifar_folder],
                         ids=["class-folders", "flat-folder", "mnist-idx", "cifar-batches"])
@pytest.mark.slow
def test_every_documented_format_trains_and_evaluates(tmp_path, cli, make, feature_cache,
                                                      monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", feature_cache)
    data = make(tmp_path / "data")
    out = tmp_path / "run"
    code, _, err = cli("train", "digits-gan", f"data.path={data}", *TINY, "--out", out, "--quiet")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["updates"] == {"generator": 10}
    assert summary["metrics"], summary              # something was measured on these images
    code, text, err = cli("eval", out, "--json", "--n", "32")
    assert code == 0, err
    assert json.loads(text)["n_samples"] == 32


def test_a_failed_run_leaves_nothing_that_blocks_its_out(tmp_path, cli, monkeypatch):
    data = _flat_folder(tmp_path / "data")
    out = tmp_path / "run"

    def broken(self):
        raise RuntimeError("boom")
    from genarena.train.pair import PairTrainer
    monkeypatch.setattr(PairTrainer, "train_step", broken)
    with pytest.raises(RuntimeError, match="boom"):
        cli("train", "digits-gan", f"data.path={data}", *TINY, "--out", out, "--quiet")
    assert "boom" in (out / "failed.txt").read_text()        # why, for the user to read
    monkeypatch.undo()
    code, _, err = cli("train", "digits-gan", f"data.path={data}", *TINY, "--out", out, "--quiet")
    assert code == 0, err
    assert not (out / "failed.txt").exists()


def _npz(path: Path) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(size=(300, 2)).astype(np.float32))
    return path


FAST_TOY = ["steps=20", "model.g_hidden=[16]", "model.d_hidden=[16]", "data.batch_size=32",
            "eval.n_samples=100", "log.interval=10", "backend.threads=1"]


def test_tilde_and_variables_expand_and_paths_are_stored_absolute(tmp_path, cli, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    _npz(home / "my.npz")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MYDATA", str(home))
    for value in ("~/my.npz", "$MYDATA/my.npz"):
        out = tmp_path / f"run-{len(value)}"
        code, _, err = cli("train", "ring8-nsgan", f"data.path={value}", *FAST_TOY, "--out", out,
                           "--quiet")
        assert code == 0, err
        stored = yaml.safe_load((out / "config.yaml").read_text())["data"]["path"]
        assert stored == str(home / "my.npz")


def test_a_relative_path_run_evaluates_from_another_directory(tmp_path, cli, monkeypatch):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    _npz(work / "my.npz")
    monkeypatch.chdir(work)
    code, _, err = cli("train", "ring8-nsgan", "data.path=my.npz", *FAST_TOY, "--out", "r",
                       "--quiet")
    assert code == 0, err
    monkeypatch.chdir(elsewhere)
    code, text, err = cli("eval", work / "r", "--n", "50")
    assert code == 0, err
    assert "swd" in text


def test_run_files_honour_the_umask(tmp_path, cli):
    old = os.umask(0o022)
    try:
        out = tmp_path / "r"
        code, _, err = cli("train", "ring8-nsgan", *FAST_TOY, "--out", out, "--quiet")
        assert code == 0, err
        files = [p for p in out.rglob("*") if p.is_file()]
        assert {"config.yaml", "summary.json", "report.html", "last.pt"} <= {p.name for p in files}
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files}
        assert set(modes.values()) == {0o644}, modes
        os.umask(0o077)
        code, _, _ = cli("report", out)           # overwriting keeps to the (new) umask
        assert code == 0 and stat.S_IMODE((out / "report.html").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_config_prints_the_resolved_yaml_that_a_run_stores(tmp_path, cli):
    code, text, _ = cli("config", "ring8-nsgan", "steps=70")
    assert code == 0
    data = yaml.safe_load(text)
    assert data["seed"] == 0 and data["steps"] == 70 and "coevolution" in data
    # the sections the pair trainer reads come first; the others follow under a comment
    head, _, tail = text.partition("# Sections the pair trainer does not read")
    assert "optim:" in head and "coevolution:" not in head and "coevolution:" in tail
    out = tmp_path / "r"
    code, _, _ = cli("train", "ring8-nsgan", "steps=70", "model.g_hidden=[16]",
                     "model.d_hidden=[16]", "eval.n_samples=64", "--out", out, "--quiet")
    code, again, _ = cli("config", "ring8-nsgan", "steps=70", "model.g_hidden=[16]",
                         "model.d_hidden=[16]", "eval.n_samples=64")
    assert (out / "config.yaml").read_text() == again
    assert_user_error(cli("config", "ring8-nsgan", "no_such_key=1"), "no_such_key")
    assert_user_error(cli("config", "ring8-nsgan", "optim.lr_g=-1"), "optim.lr_g")


def test_presets_show_one_and_typos_get_near_names(cli):
    code, text, _ = cli("presets", "ring8-nsgan")
    assert code == 0 and "ring8-nsgan.yaml" in text and "description:" in text
    assert_user_error(cli("train", "ring8-nsgn"), "ring8-nsgan")
    assert_user_error(cli("presets", "ring8-nsgn"), "did you mean", "ring8-nsgan")


def test_version_and_bare_command_print_help(cli, capsys):
    code, out, _ = cli()
    assert code == 0 and "train" in out and "usage" in out
    with pytest.raises(SystemExit) as exc:
        cli("--version")
    assert exc.value.code == 0 and "genarena" in capsys.readouterr().out


def test_eval_prints_n_a_for_undefined_metrics(tmp_path, cli):
    out = tmp_path / "r"
    code, _, _ = cli("train", "ring8-nsgan", "steps=2", "model.g_hidden=[8]", "model.d_hidden=[8]",
                     "eval.n_samples=50", "--out", out, "--quiet")
    code, text, _ = cli("eval", out, "--n", "50")
    assert code == 0 and "None" not in text
    assert "reverse_kl: n/a" in text        # 2 steps hit no mode: the reverse KL is undefined


@pytest.mark.slow
def test_steps_counts_generator_updates_for_every_trainer(tmp_path):
    import genarena
    grid = genarena.train("ring8-mustangs", out=tmp_path / "grid", steps=40,
                          coevolution__batches_per_gen=10, coevolution__rows=1,
                          coevolution__cols=2, coevolution__score_samples=100,
                          model__g_hidden=[16], model__d_hidden=[16], eval__n_samples=100,
                          backend__threads=1)
    assert grid.summary["steps"] == 40
    assert grid.summary["updates"] == {"generator": 40, "generations": 4,
                                       "grid_generator_updates": 80}
    guided = genarena.train("moons-dlsm-total", out=tmp_path / "guided", steps=40,
                            guidance__classifier_steps=15, diffusion__nfe=10,
                            eval__n_samples=100, model__g_hidden=[16], model__d_hidden=[16],
                            backend__threads=1)
    assert guided.summary["steps"] == 40
    assert guided.summary["updates"] == {"generator": 40, "classifier": 15}


def test_coevolution_steps_must_fill_whole_generations(cli):
    assert_user_error(cli("config", "ring8-mustangs", "steps=150"), "steps", "multiple of 100")


def test_tensorboard_events_are_written(tmp_path, cli):
    out = tmp_path / "R"
    code, _, err = cli("train", "ring8-nsgan", "steps=200", "log.tensorboard=true",
                       "eval.interval=100", "model.g_hidden=[16]", "model.d_hidden=[16]",
                       "eval.n_samples=100", "--out", out, "--quiet")
    assert code == 0, err
    events = list(out.rglob("events.out.tfevents.*"))
    assert events
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert {"loss_d", "loss_g", "eval/swd"} <= set(acc.Tags()["scalars"])
    assert [e.step for e in acc.Scalars("loss_g")] == [100, 200]
    assert "samples" in acc.Tags()["images"]


def test_plain_log_has_a_line_per_log_interval(tmp_path):
    import io

    from genarena.progress import Progress
    stream = io.StringIO()                  # not a terminal, as under nohup or a scheduler
    p = Progress(1000, "run", stream=stream, plain_every_s=1e9)
    for step in range(1, 1001):
        p.update(step, {"loss_g": 1.0} if step % 100 == 0 else None, log=step % 100 == 0)
    p.note("evaluating 10 samples")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("run: 1/1000")          # a first line says the run started
    assert len(lines) == 12 and all("loss_g=1" in line for line in lines[1:11])
    assert lines[-1] == "run: evaluating 10 samples"


def test_compare_skips_non_runs_and_marks_unfinished_ones(tmp_path, cli):
    done = tmp_path / "done"
    code, _, _ = cli("train", "ring8-nsgan", *FAST_TOY, "--out", done, "--quiet")
    running = tmp_path / "running"
    code, _, _ = cli("train", "ring8-nsgan", *FAST_TOY, "eval.interval=10", "--out", running,
                     "--quiet")
    (running / "summary.json").unlink()                 # as it looks while it still trains
    (tmp_path / "board.html").write_text("<html></html>")
    code, out, err = cli("compare", done, running, tmp_path / "board.html")
    assert code == 0, err
    assert "skipped 1" in err and "board.html" in err
    lines = out.splitlines()
    assert "status" in lines[0]
    running_line = next(line for line in lines if line.startswith("running"))
    assert "running 20/20" in running_line and "0." in running_line     # its logged swd
    assert_user_error(cli("compare", tmp_path / "board.html"), "none of the arguments")


@pytest.mark.slow
def test_bench_without_a_suite_lists_suites_and_quick_stays_out_of_results(tmp_path, cli,
                                                                           monkeypatch):
    code, out, _ = cli("bench")
    assert code == 0
    for suite in ("throughput", "images", "diffusion", "coevolution", "mspg", "dfac", "modes"):
        assert suite in out
    assert " h " in out or "min" in out
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("bench", "dfac", "--quick")
    assert code == 0, err
    assert not (tmp_path / "benchmarks").exists()
    assert (tmp_path / "runs" / "bench-quick" / "dfac.md").exists()


def test_first_use_of_the_feature_classifier_is_announced(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = _class_folders(tmp_path / "data")
    code, _, err = cli("train", "digits-gan", f"data.path={data}", *TINY, "--out",
                       tmp_path / "r")
    assert code == 0, err
    assert "training the feature classifier of data on first use" in err
    assert "evaluating 64 samples" in err


@pytest.mark.slow
def test_the_thread_count_follows_omp_num_threads_and_is_recorded(tmp_path):
    import subprocess
    import sys
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for extra, expected in (([], 1), (["backend.threads=2"], 2)):
        out = tmp_path / f"r{expected}"
        subprocess.run([sys.executable, "-m", "genarena", "train", "ring8-nsgan", *FAST_TOY, *extra,
                        "--out", str(out), "--quiet"], env=env, check=True, capture_output=True)
        assert json.loads((out / "summary.json").read_text())["threads"] == expected
