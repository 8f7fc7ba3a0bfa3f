"""trainer=coevolution end to end: the mixture model, the summary, the report, exact resume."""
import pytest
import torch
from helpers import COEVOLUTION_SMALL, as_kwargs, assert_user_error, metric_rows, train_then_kill

import genarena

SMALL = COEVOLUTION_SMALL


def test_run_reports_cells_and_samples_from_the_best_mixture(tmp_path):
    run = genarena.train("ring8-mustangs", out=tmp_path / "r", **as_kwargs(SMALL))
    s = run.summary
    assert s["trainer"] == "coevolution" and s["model"] == "mixture"
    assert s["grid"] == {"rows": 2, "cols": 2, "neighbourhood": "von-neumann"}
    assert len(s["cells"]) == 4 and s["steps"] == 120
    assert s["updates"] == {"generator": 120, "generations": 6, "grid_generator_updates": 4 * 120}
    scores = [c["score"] for c in s["cells"]]
    assert s["best_cell"] == scores.index(min(scores))
    assert all(abs(sum(c["weights"]) - 1) < 1e-9 for c in s["cells"])
    assert {"modes_captured", "high_quality_fraction", "swd"} <= set(s["metrics"])
    mixture = run.model()
    assert len(mixture.members) == 3                       # the best cell and its 2 neighbours
    assert torch.allclose(mixture.weights, torch.tensor(s["cells"][s["best_cell"]]["weights"],
                                                        dtype=torch.float64))
    x = run.sample(100, seed=1)
    assert x.shape == (100, 2) and torch.equal(x, run.sample(100, seed=1))
    rows = metric_rows(run.path)
    assert [r["step"] for r in rows] == list(range(20, 121, 20))
    assert all(f"score_cell_{c}" in rows[-1] for c in range(4))
    assert "cell scores over generations" in (run.path / "report.html").read_text()


def test_sample_and_eval_commands_use_the_mixture(tmp_path, cli):
    run = genarena.train("ring8-lip-heu", out=tmp_path / "r", **as_kwargs({**SMALL, "steps": 40}))
    code, out, _ = cli("sample", str(run.path), "--n", "64", "--out", str(tmp_path / "s.npz"))
    assert code == 0 and (tmp_path / "s.npz").exists()
    code, out, _ = cli("eval", str(run.path), "--n", "500")
    assert code == 0 and "swd" in out


@pytest.mark.slow
def test_coevolution_learns_ring8(tmp_path):
    # The ring8-lip-heu preset on a 2×2 grid for 15 generations of 100 updates (about 25 s):
    # measured 8/8 modes with 64% of samples of high quality.
    run = genarena.train("ring8-lip-heu", out=tmp_path / "r", coevolution__rows=2,
                         coevolution__cols=2, steps=1500, eval__n_samples=2000)
    m = run.summary["metrics"]
    assert m["modes_captured"] >= 7 and m["high_quality_fraction"] >= 0.45, m
    rows = metric_rows(run.path)
    assert rows[-1]["score_best"] < 0.5 * rows[0]["score_best"]


@pytest.mark.slow
def test_killed_sequential_run_resumes_to_the_uninterrupted_result(tmp_path):
    cfg = {**SMALL, "steps": 160}
    killed = tmp_path / "killed"
    train_then_kill("ring8-mustangs", cfg, killed, after_step=60)
    resumed = genarena.train(resume=killed)
    straight = genarena.train("ring8-mustangs", out=tmp_path / "straight", **as_kwargs(cfg))
    assert resumed.summary["metrics"] == straight.summary["metrics"]
    assert resumed.summary["cells"] == straight.summary["cells"]
    assert metric_rows(killed) == metric_rows(tmp_path / "straight")


def test_coevolution_config_errors(cli):
    assert_user_error(cli("train", "ring8-nsgan", "loss.name=mustangs"), "loss.name", "coevolution")
    assert_user_error(cli("train", "ring8-nsgan", "backend.name=ray"), "backend.name")
    assert_user_error(cli("train", "ring8-lip-bce", "loss.name=wgan-gp"), "loss.name")
    assert_user_error(cli("train", "ring8-lip-bce", "coevolution.neighbourhood=hex"),
                      "coevolution.neighbourhood")
    assert_user_error(cli("train", "ring8-lip-bce", "coevolution.mutation_probability=2"),
                      "coevolution.mutation_probability")


@pytest.mark.slow
def test_dfac_controlled_run_sets_knobs_and_resumes_exactly(tmp_path):
    cfg = {**SMALL, "steps": 30, "coevolution.batches_per_gen": 5, "controller.batch": 2,
           "controller.epsilon_decay": 4, "controller.interval": 5, "log.interval": 5,
           "log.checkpoint_interval": 5}
    killed = tmp_path / "killed"
    train_then_kill("ring8-mustangs-dfac", cfg, killed, after_step=15)
    resumed = genarena.train(resume=killed)
    straight = genarena.train("ring8-mustangs-dfac", out=tmp_path / "straight", **as_kwargs(cfg))
    assert resumed.summary["metrics"] == straight.summary["metrics"]
    assert resumed.summary["cells"] == straight.summary["cells"]
    assert all(c["knobs"] is not None for c in straight.summary["cells"])
    rows = metric_rows(straight.path)
    assert {"dfac_reward", "dfac_loss", "knob_lr_g", "knob_d_steps", "d_acc_real"} <= set(rows[-1])
    assert [r.get("dfac_reward") for r in rows] == [r.get("dfac_reward") for r in metric_rows(killed)]


def test_apfl_cannot_control_a_grid(tmp_path, cli):
    assert_user_error(cli("train", "ring8-mustangs", "controller.name=apfl", "--out",
                          str(tmp_path / "r")), "controller.name", "apfl")
