"""The evidence suites (#17): budgets as fractions of the published ones, runs extended rather
than retrained, every claim a verdict with its interval, curves per method, evidence.md."""
import json
import shutil
from types import SimpleNamespace

import pytest

from genarena.bench import SUITES, evidence
from genarena.bench.studies import STUDIES
from genarena.errors import UserError
from genarena.stats import VERDICTS


def test_budgets_are_whole_evaluation_intervals_and_generations():
    pacgan, mustangs = STUDIES["pacgan-grid25"], STUDIES["mustangs"]
    assert evidence.steps_for(pacgan, 0.025) == 10_000                  # of PacGAN's 400 000
    assert evidence.steps_for(mustangs, 0.05) == 3000                   # 10 generations of 300
    assert evidence.steps_for(mustangs, 0.051) % 300 == 0
    for study in STUDIES.values():       # every default budget draws >= 10 curve points
        assert evidence.steps_for(study, study.budget) // study.eval_every >= 10, study.name
        evidence.check_budget(study.name, study.budget)
    with pytest.raises(UserError, match="--budget: 0.001 gives 1 evaluations"):
        evidence.check_budget("pacgan-grid25", 0.001)
    with pytest.raises(UserError, match="--budget"):
        evidence.check_budget("pacgan-grid25", -1)


def test_every_arm_is_a_preset_and_every_claim_names_arms():
    from genarena.config import load_config
    for study in STUDIES.values():
        labels = {a.label for a in study.arms}
        for arm in study.arms:
            cfg = load_config(arm.preset, evidence.overrides_for(study, arm, 0, study.budget, False))
            assert cfg.eval.interval == study.eval_every
        for claim in study.claims:
            assert {claim.better, claim.worse} <= labels and claim.metric.removesuffix("_5000") \
                in (*study.metrics, *study.from_curves, "fid_logits")
        for name in study.from_curves:                  # read off curves of a study's metric
            assert evidence.CURVE_FIGURES[name][0] in study.metrics


@pytest.mark.slow
def test_quick_study_writes_verdicts_curves_and_the_report(tmp_path):
    out, runs = tmp_path / "results", tmp_path / "runs"
    paths = evidence.run(out, quick=True, study="pacgan-ring8", runs_root=runs,
                         launch=evidence.Launch(workers=0), uncalibrated=True)
    record = json.loads((out / "evidence" / "pacgan-ring8.json").read_text())
    assert record["seeds"] == [0, 1] and len(record["claims"]) == 2
    assert all(c["verdict"] in VERDICTS for c in record["claims"])
    paired = [c for c in record["claims"] if c["difference"] is not None]
    assert all(c["paired"] and c["p_value"] is not None for c in paired)
    # each data set's learned-nothing floors are scored, and a claim about an arm that does not
    # beat them is not tested (at a smoke budget, that is most of them)
    assert [(f["group"], f["label"].split(":")[0]) for f in record["floors"]] == \
        [("ring8", "floor"), ("ring8", "floor")]
    assert all(c["verdict"] == "not tested" for c in record["claims"] if c not in paired)
    assert all(p.exists() for p in paths)
    assert {p.name for p in paths} >= {"pacgan-ring8.json", "pacgan-ring8-modes_captured.png",
                                       "evidence.md"}
    for label, pts in record["curves"]["modes_captured"].items():
        assert [p[0] for p in pts] == [2, 4], label          # every evaluation, then the final
    assert record["eval_every"] == 2
    md = (out / "evidence.md").read_text()
    assert "evaluated every 2 steps" in md
    assert md.count("| pacgan-ring8 | ") == 2 and "0.07 / 0.45" in md   # published beside ours
    assert "smoke run" in md and "*ring8 floor: uniform over the data's box*" in md
    done = {d.name: (d / "summary.json").stat().st_mtime_ns
            for d in (runs / "pacgan-ring8-quick").iterdir()}
    calibrating = {"ring8-gan-s0", "ring8-gan-s1"}
    others = {k: v for k, v in done.items() if k not in calibrating}
    # the calibration arms over every seed first, then the others seed-major
    assert max(done[k] for k in calibrating) < min(others.values())
    assert max(v for k, v in others.items() if k.endswith("-s0")) \
        < min(v for k, v in others.items() if k.endswith("-s1"))
    stamp = (runs / "pacgan-ring8-quick" / "ring8-gan-s0" / "summary.json").stat().st_mtime
    evidence.run(out, quick=True, study="pacgan-ring8", runs_root=runs,
                 launch=evidence.Launch(workers=0), uncalibrated=True)
    assert (runs / "pacgan-ring8-quick" / "ring8-gan-s0" / "summary.json").stat().st_mtime == stamp
    # a fresh scratch disk: every run comes back from the records kept beside the results
    kept = out / "records" / "runs" / "pacgan-ring8-quick" / "ring8-gan-s0"
    assert {p.name for p in kept.iterdir()} >= {"config.yaml", "summary.json", "metrics.jsonl"}
    shutil.rmtree(runs)
    evidence.run(out, quick=True, study="pacgan-ring8", runs_root=runs,
                 launch=evidence.Launch(workers=0), uncalibrated=True)
    assert not (runs / "pacgan-ring8-quick" / "ring8-gan-s0" / "checkpoints").exists()  # not retrained
    again = json.loads((out / "evidence" / "pacgan-ring8.json").read_text())
    assert again["claims"] == record["claims"] and again["curves"] == record["curves"]



def test_an_uncalibrated_study_trains_only_its_calibration_arms(tmp_path):
    """No verdict of a study whose baseline missed its published figures counts, so its compared
    arms are not trained (a smoke run misses them) unless asked; they train later on request,
    reusing the calibration runs."""
    out, runs = tmp_path / "results", tmp_path / "runs"
    evidence.run(out, quick=True, study="pacgan-ring8", seeds=[0], runs_root=runs,
                 launch=evidence.Launch(workers=0))
    assert {d.name for d in (runs / "pacgan-ring8-quick").iterdir()} == {"ring8-gan-s0"}
    record = json.loads((out / "evidence" / "pacgan-ring8.json").read_text())
    arms = {a["label"]: a for a in record["arms"]}
    assert arms["ring8 GAN"]["train_seconds"] and not arms["ring8 PacGAN2"]["train_seconds"]
    assert all(c["verdict"] == "not tested" and "uncalibrated" in c["reason"]
               for c in record["claims"])
    assert set(record["curves"]["reverse_kl"]) == {"ring8 GAN"} and record["floors"]
    md = (out / "evidence.md").read_text()
    assert "**uncalibrated at this budget**" in md
    assert "Not trained: ring8 PacGAN2, ring8 PacGAN4." in md and "| ring8 PacGAN2 | – |" in md
    stamp = (runs / "pacgan-ring8-quick" / "ring8-gan-s0" / "summary.json").stat().st_mtime
    evidence.run(out, quick=True, study="pacgan-ring8", seeds=[0], runs_root=runs,
                 launch=evidence.Launch(workers=0), uncalibrated=True)
    assert {d.name for d in (runs / "pacgan-ring8-quick").iterdir()} == \
        {"ring8-gan-s0", "ring8-pacgan2-s0", "ring8-pacgan4-s0"}
    assert (runs / "pacgan-ring8-quick" / "ring8-gan-s0" / "summary.json").stat().st_mtime == stamp


def test_the_report_keeps_the_dlsm_and_dfac_reproductions(tmp_path):
    import shutil
    from pathlib import Path
    results = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
    for name in ("diffusion.json", "dfac.json"):
        shutil.copy(results / name, tmp_path / name)
    (tmp_path / "evidence").mkdir()
    md = evidence.write_report(tmp_path)[0].read_text()
    assert "DLSM two moons: total beats CE" in md and "**holds**" in md
    assert "matrix game: DMIX beats DDN" in md
    # a study with no record is named, with the command that runs it
    assert "Not on record yet" in md and "`genarena bench evidence-pacgan-grid25`" in md


def test_budget_flags_are_checked_before_anything_trains(tmp_path, cli):
    from helpers import assert_user_error
    assert_user_error(cli("bench", "modes", "--budget", "0.1", "--out", tmp_path), "--budget")
    assert_user_error(cli("bench", "modes", "--uncalibrated", "--out", tmp_path), "--uncalibrated")
    assert_user_error(cli("bench", "evidence-stacked", "--budget", "0.001", "--out", tmp_path),
                      "--budget: 0.001")
    assert not list(tmp_path.iterdir())


def test_curves_place_each_evaluation_at_the_interval_it_crossed(tmp_path):
    from genarena.report.curves import band, run_curve
    for seed, overrun in ((0, 294), (1, 100)):
        d = tmp_path / f"r{seed}"
        d.mkdir()
        rows = [{"step": 20000 + overrun, "eval": {"test_return": 0.1 + seed}},
                {"step": 40000 + overrun, "eval": {"test_return": 0.5 + seed}},
                {"step": 41000, "train_return": 3.0}]
        (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (d / "summary.json").write_text(json.dumps({"steps": 60000,
                                                    "metrics": {"test_return": 0.9 + seed}}))
    curves = [run_curve(tmp_path / f"r{s}", "test_return", grid=20000) for s in (0, 1)]
    assert curves[0] == [(20000, 0.1), (40000, 0.5), (60000, 0.9)]
    assert [p[0] for p in band(curves)] == [20000, 40000, 60000]          # the seeds line up
    assert band(curves)[0][1] == pytest.approx(0.6)


def test_the_marl_suite_is_a_study_with_its_own_results(tmp_path):
    s = STUDIES["marl"]
    assert SUITES["marl"].study == "marl" and s.results == "marl"
    assert evidence.steps_for(s, s.budget) == 2_000_000            # EPyMARL's budget
    assert s.eval_every == 50_000 and s.from_curves == ("max_return", "average_return")
    assert {c.metric for c in s.claims} == {"max_return"}
    assert [c.arm.split()[-1] for c in s.calibration] == ["IQL", "VDN", "QMIX"]
    assert {c.better.split()[-1] for c in s.claims} == {"DMIX", "DDN", "DIQL"}
    # LBF only, and the fewest seeds at which three claims can pass Holm (3 × 1/64 < 0.05)
    assert len(s.arms) == 6 and all(a.preset.endswith("-paper") for a in s.arms)
    assert len(s.claims) == 3 and s.seeds == 6 and len(s.claims) / 2 ** s.seeds < 0.05
    iql = next(a for a in s.arms if a.label.endswith(" IQL"))
    assert iql.published == {"max_return": 0.93, "average_return": 0.54}     # Tables 3 and 6
    # the calibration arms train first, seed-major (all three at seed 0 before any at seed 1);
    # then the DFAC arms, seed-major
    order = [(arm.label, seed) for arm, seed in evidence.training_order(s, [0, 1, 2])]
    assert order[:9] == [(f"LBF 10x10-3p-3f {m}", seed) for seed in (0, 1, 2)
                         for m in ("IQL", "VDN", "QMIX")]
    assert [seed for _, seed in order[9:]] == sorted(seed for _, seed in order[9:])
    assert len(set(order)) == len(order) == 3 * len(s.arms)
    assert evidence.picture_name("marl", "LBF 10x10-3p-3f", "test_return") == \
        "marl-lbf-10x10-3p-3f-test_return.png"                      # a markdown link: no spaces
    assert evidence.picture_name("pacgan", "ring8", "modes_captured") == \
        "pacgan-ring8-modes_captured.png"
    assert evidence.picture_name("pacgan-ring8", "ring8", "reverse_kl") == \
        "pacgan-ring8-reverse_kl.png"                               # the study's name says it


def test_epymarls_curve_figures_are_each_seeds_value_at_the_best_mean_and_its_mean():
    curves = {0: {50: 0.2, 100: 0.6}, 1: {50: 0.4, 100: 0.5}, 2: {50: 0.3, 100: 0.7, 150: 0.9}}
    at_best = evidence.CURVE_FIGURES["max_return"][1](curves)      # means 0.3, 0.6: step 100
    assert at_best == {0: 0.6, 1: 0.5, 2: 0.7}
    average = evidence.CURVE_FIGURES["average_return"][1](curves)  # the shared steps 50, 100
    assert average == pytest.approx({0: 0.4, 1: 0.45, 2: 0.5})


def test_epymarls_curves_start_with_the_untrained_agents_test():
    """EPyMARL tests at step 0 too (41 evaluations over 2 M steps): the marl study measures that
    test after the run (initial_return) and its curves start with it."""
    assert "initial_return" in STUDIES["marl"].extra
    curves = evidence.seed_curves("test_return", {0: [(50, 0.2), (100, 0.6)],
                                                  1: [(50, 0.4), (100, 0.5)]},
                                  {"initial_return": {0: 0.01, 1: 0.04}, "random_return": {}})
    assert curves == {0: {0: 0.01, 50: 0.2, 100: 0.6}, 1: {0: 0.04, 50: 0.4, 100: 0.5}}
    average = evidence.CURVE_FIGURES["average_return"][1](curves)
    assert average == pytest.approx({0: 0.27, 1: 0.94 / 3})   # (0.04 + 0.4 + 0.5) / 3
    # a metric without a step-0 figure keeps its curve as measured
    assert evidence.seed_curves("fid", {0: [(10, 3.0)]}, {"initial_return": {0: 1.0}}) == \
        {0: {10: 3.0}}


def test_a_shared_stage_is_one_frozen_score_net_per_seed_under_both_arms():
    from genarena.config import load_config
    from genarena.train.diffusion import score_net_signature
    s = STUDIES["dlsm-digits"]
    stage = load_config(s.shared.preset, evidence.shared_overrides(s, 1, False))
    assert stage.steps == 6000 and stage.guidance.classifier == "none" and stage.seed == 1
    assert stage.eval.interval == 600                     # the score net's own curve
    assert evidence.steps_for(s, s.budget) == 3000        # the budget is in classifier updates
    for arm in s.arms:
        cfg = load_config(arm.preset, {**evidence.overrides_for(s, arm, 1, s.budget, False),
                                       s.shared_key: "elsewhere"})
        assert cfg.guidance.classifier_steps == 3000 and cfg.eval.interval == 300
        assert cfg.eval.conditional == "every"            # CAS, the claim's metric, has a curve
        assert score_net_signature(cfg) == score_net_signature(stage)   # the net it can load


def test_the_final_point_of_a_curve_sits_at_the_loops_last_step(tmp_path):
    from genarena.report.curves import run_curve
    # a guided diffusion run: 6 000 score-net steps, then 3 000 classifier steps
    rows = [{"step": 3000, "eval": {"fid": 9.0}}, {"step": 6000, "eval": {"fid": 7.0}}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "summary.json").write_text(json.dumps({"steps": 6000, "final_step": 9000,
                                                       "metrics": {"fid": 5.0}}))
    assert run_curve(tmp_path, "fid", grid=3000) == [(3000, 9.0), (6000, 7.0), (9000, 5.0)]


def test_a_figure_after_training_is_computed_once_per_run_length(tmp_path):
    calls = []
    run = SimpleNamespace(path=tmp_path, config=SimpleNamespace(steps=100))
    compute = lambda: calls.append(1) or 0.25                            # noqa: E731
    assert evidence._cached(run, "evidence-x.json", "x", compute) == 0.25
    assert evidence._cached(run, "evidence-x.json", "x", compute) == 0.25
    assert len(calls) == 1                                     # the second read the run's cache
    run.config.steps = 200                                     # the run was extended
    assert evidence._cached(run, "evidence-x.json", "x", compute) == 0.25 and len(calls) == 2


def test_every_study_runs_enough_seeds_for_its_family_to_carry_a_verdict():
    from genarena.stats import fewest_seeds
    for study in STUDIES.values():
        assert study.seeds >= fewest_seeds(len(study.claims)), study.name


def test_every_published_figure_has_its_source():
    for study in STUDIES.values():
        for arm in study.arms:
            assert not arm.published or arm.source, (study.name, arm.label)
    dcgan = next(a for a in STUDIES["stacked"].arms if a.label == "DCGAN")
    assert dcgan.published == {"modes_captured": 78.9, "reverse_kl": 4.50}    # PacGAN's own run
    assert "Table 2" in dcgan.source and "VEEGAN" in dcgan.source
    assert all("not verified" in a.source for a in STUDIES["mustangs"].arms)


def test_the_arms_of_a_study_share_batch_budget_and_evaluation():
    """Equal arms: the same decisions per batch (a PacGAN-m batch holds m samples per decision),
    the same budget and the same evaluation samples, in every study."""
    from genarena.config import load_config
    for study in STUDIES.values():
        configs = [load_config(a.preset, evidence.overrides_for(study, a, 0, study.budget, False))
                   for a in study.arms]
        shared = {(c.data.batch_size // c.model.pack, c.steps, c.eval.n_samples) for c in configs}
        assert len(shared) == 1, (study.name, shared)
