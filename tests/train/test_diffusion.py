"""The diffusion trainer end to end on two moons: DSM learns, classifiers train, labels guide."""
import copy
import json

import pytest
import torch
from helpers import assert_user_error

import genarena
from genarena.diffusion.oracle import moons_posterior_errors
from genarena.errors import UserError

SMALL = {"steps": 400, "diffusion__nfe": 40, "eval__n_samples": 300, "log__checkpoint_interval": 100,
         "model__g_hidden": [64, 64], "model__d_hidden": [32, 32], "backend__threads": 1}


def _rows(run, key):
    return [r[key] for r in run.dir.read_metrics() if key in r]


def test_score_model_learns_and_reports_the_common_keys(tmp_path):
    run = genarena.train("moons-score", out=tmp_path / "score", **SMALL)
    losses = _rows(run, "loss_dsm")
    assert losses[-1] < 0.95 * losses[0]
    m = run.summary["metrics"]
    # an untrained net sends samples thousands of units away (measured: swd ≈ 3 700);
    # 400 steps bring them onto the moons' scale (measured: ≈ 5.5; the data spans ±30)
    assert m["swd"] < 15 and m["n_samples"] == 300
    x = run.sample(64)
    assert x.shape == (64, 2) and torch.isfinite(x).all()


def test_guided_run_trains_the_classifier_and_samples_by_label(tmp_path, cli):
    run = genarena.train("moons-dlsm-total", out=tmp_path / "total",
                         guidance__classifier_steps=150, **SMALL)
    # `steps` is the score net's (the generator's) budget; the classifier's is reported apart
    assert run.summary["steps"] == 400 and run.summary["model"] == "ema-score+total-classifier"
    assert run.summary["updates"] == {"generator": 400, "classifier": 150}
    assert run.summary["final_step"] == 550            # where its curve's last point sits
    assert _rows(run, "dlsm") and _rows(run, "ce")
    m = run.summary["metrics"]
    assert 0 <= m["classwise_precision"] <= 1 and 0 <= m["classwise_recall"] <= 1
    errors = moons_posterior_errors(run.model(), run.dataset, oracle_points=500)
    assert set(errors) == {"class_0", "class_1", "mean"} and errors["mean"] > 0
    code, out, _ = cli("sample", run.path, "--n", "20", "--label", "1", "--out", tmp_path / "c1.npz")
    assert code == 0
    import numpy as np
    assert np.load(tmp_path / "c1.npz")["x"].shape == (20, 2)
    assert_user_error(cli("sample", run.path, "--n", "5", "--label", "7", "--out",
                          tmp_path / "bad.npz"), "--label", "0..1")


@pytest.mark.slow
def test_classifier_on_a_shared_score_run(tmp_path):
    score = genarena.train("moons-score", out=tmp_path / "score", **SMALL)
    # sampling, batch size and the classifier's width do not touch the score net: reuse is allowed
    ce = genarena.train("moons-dlsm-ce", out=tmp_path / "ce", guidance__score_run=str(score.path),
                        guidance__classifier_steps=50, eval__interval=25,
                        **{**SMALL, "diffusion__sampler": "ode", "model__d_hidden": [48],
                           "data__batch_size": 128})
    assert ce.summary["updates"] == {"generator": 0, "classifier": 50}   # the score net is reused
    assert ce.summary["final_step"] == 50
    # eval.conditional=final (the default): mid-run evaluations carry no class-conditional metric
    [mid] = _rows(ce, "eval")
    assert "swd" in mid and "classwise_coverage" not in mid
    every = genarena.train("moons-dlsm-ce", out=tmp_path / "every", guidance__score_run=str(score.path),
                           guidance__classifier_steps=50, eval__interval=25,
                           eval__conditional="every", **SMALL)
    [mid] = _rows(every, "eval")                       # at step 25: the classifier's curve too
    assert 0 <= mid["classwise_coverage"] <= 1 and mid["classwise_samples"] > 0
    state = json.loads((ce.path / "summary.json").read_text())
    assert state["model"] == "ema-score+ce-classifier"
    a = score.model().net.state_dict()
    b = ce.model().net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(UserError, match="guidance.score_run.*same data, score net and SDE"):
        genarena.train("moons-dlsm-ce", out=tmp_path / "bad", guidance__score_run=str(score.path),
                       guidance__classifier_steps=5, **{**SMALL, "model__g_hidden": [32, 32]})


def test_papers_classifier_draws_its_own_batches_and_resumes_exactly(tmp_path):
    from genarena.config import load_config
    from genarena.data import build_dataset
    from genarena.train.diffusion import DiffusionTrainer
    score = genarena.train("moons-paper-score", out=tmp_path / "score", **SMALL)
    over = {"guidance.score_run": str(score.path), "guidance.batch_size": 96, "data.batch_size": 32,
            "model.g_hidden": [64, 64], "model.d_hidden": [32, 16]}
    cfg = load_config("moons-paper-total", over)
    dataset = build_dataset(cfg.data)

    def trainer() -> DiffusionTrainer:
        return DiffusionTrainer(cfg, dataset, torch.device("cpu"))

    a = trainer()
    assert a.clf_stream is not a.stream and a.clf_stream.next()[0].shape == (96, 2)
    for _ in range(3):
        a.train_step()
    b = trainer()
    b.load_state_dict(copy.deepcopy(a.state_dict()))     # a checkpoint owns its tensors
    for _ in range(2):
        stats_a, stats_b = a.train_step(), b.train_step()
    assert stats_a == stats_b and "dlsm" in stats_a
    pa, pb = a.classifier.state_dict(), b.classifier.state_dict()
    assert all(torch.equal(pa[k], pb[k]) for k in pa)


def test_sigma_branch_classifier_is_refused_for_images(tmp_path):
    with pytest.raises(UserError, match="guidance.classifier_net.*vector data"):
        genarena.train("digits-dlsm-ce", out=tmp_path / "bad", guidance__classifier_net="sigma-branch",
                       steps=1, guidance__classifier_steps=1)
    assert not (tmp_path / "bad" / "summary.json").exists()


def test_ddpm_on_digits_trains_and_samples(tmp_path, feature_cache):
    run = genarena.train("digits-ddpm", out=tmp_path / "ddpm", steps=30, diffusion__nfe=10,
                         eval__n_samples=100, model__width=8, eval__cache_dir=feature_cache)
    m = run.summary["metrics"]
    assert m["fid"] > 0 and m["features"].startswith("lenet8x1-digits-")
    assert run.sample(4).shape == (4, 1, 8, 8)


def test_compare_puts_a_gan_and_a_diffusion_run_side_by_side(tmp_path, feature_cache):
    from genarena.report.tables import comparison_rows
    common = {"eval__n_samples": 100, "eval__cache_dir": feature_cache, "model__width": 8}
    gan = genarena.train("digits-gan", out=tmp_path / "gan", steps=5, **common)
    ddpm = genarena.train("digits-ddpm", out=tmp_path / "ddpm", steps=5, diffusion__nfe=5, **common)
    rows, cols = comparison_rows([gan.path, ddpm.path])
    assert [r["trainer"] for r in rows] == ["pair", "diffusion"]
    for key in ("fid", "fid_logits", "inception_score", "precision", "recall", "coverage"):
        assert key in cols and all(isinstance(r[key], float) for r in rows)
