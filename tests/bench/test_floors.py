"""Learned-nothing floors and the rule that a claim about an arm at its floor is not tested."""
import pytest

from genarena.bench.evidence_report import ArmRecord, FloorRecord, at_floor, verdicts
from genarena.bench.floors import floor_metrics, floor_samplers
from genarena.bench.studies import ClaimSpec
from genarena.config import load_config
from genarena.data import build_dataset


def test_toy_floors_are_uniform_over_the_box_and_a_point_mass():
    cfg = load_config("grid25-nsgan", {"eval.n_samples": 2500})
    samplers = floor_samplers(cfg, build_dataset(cfg.data))
    uniform, point = samplers.values()
    x = uniform(2500)
    assert x.shape == (2500, 2) and -4.3 < x.min() and x.max() < 4.3     # the centres ±4, σ 0.05
    assert (point(3) - point(3)[0]).abs().max() == 0
    floors = floor_metrics(cfg, build_dataset(cfg.data))
    u, p = floors.values()
    # uniform points land near most of the 25 modes; a point mass at (0, 0) sits on one of them
    assert u["modes_captured"] >= 15 and u["high_quality_fraction"] < 0.1
    assert p["modes_captured"] == 1 and p["high_quality_fraction"] == 1.0


def _arm(label, values, group=""):
    return ArmRecord(label=label, preset="p", overrides={}, published={}, train_seconds=[1.0],
                     values={"modes_captured": {str(s): v for s, v in enumerate(values)}},
                     group=group)


def test_an_arm_that_does_not_beat_its_floor_is_marked_and_its_claims_not_tested():
    arms = [_arm("PacGAN", [20, 21, 22, 20, 21], "grid25"), _arm("GAN", [5, 6, 4, 5, 6], "grid25")]
    floors = [FloorRecord(label="uniform", group="grid25", values={"modes_captured": 21.0})]
    floored = at_floor(arms, floors, ["modes_captured"])
    assert floored == {("PacGAN", "modes_captured"), ("GAN", "modes_captured")}
    values = {a.label: {"modes_captured": {int(k): v for k, v in
                                           a.values["modes_captured"].items()}} for a in arms}
    claim = ClaimSpec(better="PacGAN", worse="GAN", metric="modes_captured", source="s")
    [v] = verdicts([claim], values, floored)
    assert v.verdict == "not tested" and v.difference is None
    [v] = verdicts([claim], values)                    # without floors the claim is tested
    assert v.verdict == "holds" and v.p_adjusted == pytest.approx(1 / 32)
    # a floor of another data set does not judge these arms
    assert at_floor(arms, [FloorRecord(label="u", group="ring8", values={"modes_captured": 99.0})],
                    ["modes_captured"]) == set()


def test_the_null_check_compares_one_algorithm_with_itself():
    from genarena.bench.evidence_report import StudyRecord, null_check
    arms = [{"label": name, "preset": "p", "overrides": {}, "published": {}, "train_seconds": [1.0],
             "values": {"fid_logits": {str(s): v for s, v in enumerate(vals)}}}
            for name, vals in (("Lip-BCE", [50, 60, 55]), ("Lip-HEU", [52, 58, 57]),
                               ("Mustangs", [40, 45, 42]))]
    record = StudyRecord.from_json({
        "study": "mustangs", "title": "t", "protocol": "p", "seeds": [0, 1, 2], "budget": 0.1,
        "steps": 6000, "eval_every": 300, "reference_steps": 60000, "reference": "r",
        "quick": False, "command": "c", "machine": {}, "arms": arms, "curves": {},
        "metrics": ["fid_logits", "fid"], "pictures": {}, "claims": []})
    [_, line] = null_check(record)
    assert line.startswith("Null check (Lip-HEU against Lip-BCE, one algorithm, on fid_logits)")
    assert "difference -0.667" in line and "not significant: 1 of 3 seeds agree" in line


def test_an_uncalibrated_study_tests_no_claim():
    from genarena.bench.evidence_report import StudyRecord, calibration

    def record(bce):
        arms = [{"label": name, "preset": "p", "overrides": {}, "published": {},
                 "train_seconds": [1.0], "values": {"fid_logits": {str(s): v for s, v in
                                                                   enumerate(vals)}}}
                for name, vals in (("Lip-BCE", bce), ("Lip-MSE", [300, 310, 320, 305, 315]),
                                   ("Mustangs", [40, 41, 42, 43, 44]))]
        claims = [{"better": "Lip-BCE", "worse": "Lip-MSE", "metric": "fid_logits", "source": "s"}]
        return StudyRecord.from_json({
            "study": "mustangs", "title": "t", "protocol": "p", "seeds": list(range(5)),
            "budget": 0.1, "steps": 6000, "eval_every": 300, "reference_steps": 60000,
            "reference": "r", "quick": False, "command": "c", "machine": {}, "arms": arms,
            "curves": {}, "metrics": ["fid_logits"], "pictures": {}, "claims": claims})
    far = record([160, 150, 170, 155, 165])              # the published Lip-BCE is about 49
    assert calibration("mustangs", far.arms)[0] is False
    [v] = far.claims
    assert v.verdict == "not tested" and v.words.endswith("uncalibrated at this budget")
    near = record([50, 55, 60, 52, 58])
    assert calibration("mustangs", near.arms)[0] is True
    assert near.claims[0].verdict == "holds"                 # one claim, 5 seeds: p = 1/32
    assert calibration("mspg", near.arms)[0] is None          # no published baseline


def test_a_toy_baseline_that_does_not_collapse_is_uncalibrated():
    """PacGAN's claims are on reverse KL: its GAN must reach Table 1's high-quality fraction and
    collapse as Table 1's did (KL within a factor of 2 of 0.70 on grid25), not only one of them."""
    from genarena.bench.evidence_report import StudyRecord, calibration
    from genarena.bench.studies import collapse_calibration

    band = collapse_calibration("a", "reverse_kl", 0.70, "s")
    assert (band.lo, band.hi) == pytest.approx((0.35, 1.40))
    assert band.reached(0.35) and band.reached(1.4) and not band.reached(0.3)

    def gan(hq, kl):
        values = {"high_quality_fraction": {str(s): hq for s in range(6)},
                  "reverse_kl": {str(s): kl for s in range(6)}}
        return StudyRecord.from_json({
            "study": "pacgan-grid25", "title": "t", "protocol": "p", "seeds": list(range(6)),
            "budget": 0.25, "steps": 100000, "eval_every": 1000, "reference_steps": 400000,
            "reference": "r", "quick": False, "command": "c", "machine": {}, "curves": {},
            "arms": [{"label": "grid25 GAN", "preset": "p", "overrides": {}, "published": {},
                      "train_seconds": [1.0], "values": values}],
            "metrics": ["high_quality_fraction", "reverse_kl"], "pictures": {}, "claims": []})
    assert calibration("pacgan-grid25", gan(0.9, 0.8).arms)[0] is True
    ok, [line] = calibration("pacgan-grid25", gan(0.9, 0.1).arms)     # sharp, but not collapsed
    assert ok is False and "reverse_kl 0.1 (published 0.7, band [0.35, 1.4]" in line
    assert calibration("pacgan-grid25", gan(0.5, 0.8).arms)[0] is False
