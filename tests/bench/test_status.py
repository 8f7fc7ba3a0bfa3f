"""`genarena bench SUITE --status`: a study's runs done, under way and to start, read from the run
folders and the kept records, and the time left at the study's own pace."""
import json

from genarena.bench.evidence import overrides_for, run_dir
from genarena.bench.status import status_lines, study_states
from genarena.bench.studies import STUDIES
from genarena.config import load_config
from genarena.run import RunDir
from genarena.trainers import config_yaml


def _run(path, label, seed, summary=None, rows=(), **changed):
    """A run folder of the pacgan-grid25 arm `label` at `seed`: its config (with `changed`
    overrides), metrics rows and, if finished, its summary."""
    s = STUDIES["pacgan-grid25"]
    [arm] = [a for a in s.arms if a.label == label]
    cfg = load_config(arm.preset, {**overrides_for(s, arm, seed, s.budget, False), **changed})
    run = RunDir(path)
    path.mkdir(parents=True)
    run.write_config(config_yaml(cfg))
    for row in rows:
        run.append_metrics(row)
    if summary is not None:
        (path / "summary.json").write_text(json.dumps(summary))


def test_status_counts_runs_and_records_of_the_studys_own_configuration(tmp_path, cli):
    runs, out = tmp_path / "runs" / "evidence", tmp_path / "results"
    root, kept = runs / "pacgan-grid25", out / "records" / "evidence" / "pacgan-grid25"
    _run(run_dir(root, "grid25 GAN", 0), "grid25 GAN", 0, {"train_seconds": 600.0})
    _run(run_dir(kept, "grid25 GAN", 1), "grid25 GAN", 1, {"train_seconds": 1200.0})   # a record
    _run(run_dir(root, "grid25 PacGAN2", 0), "grid25 PacGAN2", 0,
         rows=[{"step": 20000, "elapsed": 100.0}, {"step": 25000, "elapsed": 150.0},
               {"step": 25000, "eval": {}}])
    # another configuration's finished run: the study would replace it, so it has not started
    _run(run_dir(root, "grid25 PacGAN4", 0), "grid25 PacGAN4", 0, {"train_seconds": 5.0},
         **{"optim.lr_g": 0.5})
    states = {(r.label, r.seed): r for r in study_states("pacgan-grid25", out=out, runs_root=runs)}
    assert len(states) == 18
    assert states["grid25 GAN", 0].finished and states["grid25 GAN", 1].finished
    assert states["grid25 PacGAN2", 0].done == 25000 and not states["grid25 PacGAN2", 0].finished
    assert not states["grid25 PacGAN4", 0].started
    lines = status_lines("pacgan-grid25", out=out, runs_root=runs)
    assert lines[0] == "pacgan-grid25: 2 of 18 runs done, 1 under way"
    # GAN: 1 800 s over 200 000 steps = 15 min per run, 4 runs left; PacGAN2: 150 s over
    # 25 000 steps = 10 min per run, 75 000 + 5 × 100 000 steps left; PacGAN4 not timed
    assert lines[1] == "  grid25 GAN: done s0 s1; to start s2 s3 s4 s5 (15 min per run)"
    assert lines[2].startswith("  grid25 PacGAN2: under way s0 at 25000/100000; to start s1")
    assert lines[3].endswith("(not timed yet)")
    hours = (4 * 100_000 * 1800 / 200_000 + 575_000 * 150 / 25_000) / 3600
    assert lines[4] == (f"  left: about {hours:.1f} h on one worker, {hours / 2:.1f} h on two "
                        "(not counting grid25 PacGAN4: `--estimate` times them)")


def test_status_applies_to_evidence_suites_only(tmp_path, cli, monkeypatch):
    from helpers import assert_user_error
    monkeypatch.chdir(tmp_path)                 # runs/bench/evidence is relative: none here
    assert_user_error(cli("bench", "modes", "--status", "--out", tmp_path), "--status")
    code, printed, _ = cli("bench", "evidence-stacked", "--status", "--out", tmp_path)
    assert code == 0 and printed.startswith("stacked: 0 of 12 runs done, 0 under way")
    assert not any(tmp_path.iterdir())                                      # it reads only
