"""The catalogue knows every statistic a trainer logs and every metric evaluation reports, and
writes mean ± sd one way."""

import pytest

import genarena
from genarena.catalogue import METRICS, STATS, progress_keys, stat_group, unknown_stats

SMALL = {"steps": 20, "eval.n_samples": 64, "log.interval": 5, "model.g_hidden": [8],
         "model.d_hidden": [8], "backend.threads": 1}
GRID = {"steps": 20, "coevolution.batches_per_gen": 5, "coevolution.rows": 2,
        "coevolution.cols": 2, "coevolution.score_samples": 64, "controller.interval": 5,
        "controller.batch": 2}
# Every trainer, and the options that add statistics: penalties, every controller, the grid.
RUNS = {
    "pair+r1": ("ring8-nsgan", {"loss.r1_gamma": 1.0, "loss.r1_interval": 2}),
    "wgan-gp": ("ring8-wgan-gp", {}),
    "egan": ("ring8-egan", {}),
    "mspg+dqn": ("ring8-mspg-dqn", {"controller.interval": 2, "controller.batch": 2}),
    "mspg+apfl": ("ring8-mspg-apfl", {"controller.interval": 5, "mspg.progressive_steps": 10}),
    "vae": ("ring8-vae", {}),
    "guided diffusion": ("moons-dlsm-total", {"guidance.classifier_steps": 10,
                                              "diffusion.nfe": 5}),
    "grid+dfac": ("ring8-mustangs-dfac", GRID),
    "grid+dqn": ("ring8-mustangs-dqn", GRID),
}


@pytest.mark.parametrize("name", RUNS)
@pytest.mark.slow
def test_every_logged_statistic_and_metric_is_catalogued(tmp_path, name):
    preset, extra = RUNS[name]
    cfg = {**SMALL, **extra}
    run = genarena.train(preset, out=tmp_path / "r", **{k.replace(".", "__"): v
                                                        for k, v in cfg.items()})
    rows = run.dir.read_metrics()
    logged = {k for r in rows for k in r}
    assert unknown_stats(logged) == [], f"add them to genarena/catalogue.py: {unknown_stats(logged)}"
    assert set(run.summary["metrics"]) <= set(METRICS)


def test_an_unknown_statistic_is_reported():
    assert unknown_stats(["loss_d", "step", "score_cell_3", "draw_lsgan", "loss_mystery"]) == \
        ["loss_mystery"]
    assert stat_group("score_cell_12") == "coevolution" and stat_group("nope") is None


def test_progress_shows_losses_and_accuracies():
    assert {"loss_d", "loss_g", "d_acc_real", "d_acc_fake"} <= set(progress_keys())
    assert all(STATS[k].group for k in progress_keys())


def test_metric_directions():
    assert METRICS["fid"].better == "lower" and METRICS["modes_captured"].better == "higher"
    assert METRICS["n_samples"].better == ""
