"""Run reuse as a plan: the pure decision for every state a run folder can be in, the one place
that deletes, and the studies' case of a budget in a key other than `steps` (dlsm-digits)."""
import pytest
from helpers import FAST

from genarena.bench.common import train_or_reuse
from genarena.config import load_config
from genarena.errors import UserError
from genarena.reuse import Existing, Extend, Fresh, Refuse, Resume, Reuse, apply, differences, inspect, plan
from genarena.run import RunDir


def _cfg(**over):
    return load_config("ring8-nsgan", {**FAST, **{k.replace("__", "."): v for k, v in over.items()}})


def test_the_same_config_is_reused_resumed_or_started_again():
    cfg = _cfg()
    assert plan(Existing(None), cfg) == Fresh()
    assert plan(Existing(cfg, finished=True, checkpointed=True), cfg) == Reuse()
    assert plan(Existing(cfg, finished=True), cfg) == Reuse()            # a record serves too
    assert plan(Existing(cfg, checkpointed=True), cfg) == Resume()
    assert plan(Existing(cfg), cfg) == Fresh(leftovers=True)            # killed before a checkpoint


def test_a_larger_budget_extends_and_a_smaller_one_is_refused():
    short, long = _cfg(steps=40), _cfg(steps=80)
    assert plan(Existing(short, finished=True, checkpointed=True), long) == Extend("steps", 80)
    assert plan(Existing(short, checkpointed=True), long) == Extend("steps", 80)
    refused = plan(Existing(long, finished=True, checkpointed=True), short)
    assert isinstance(refused, Refuse) and "longer run (steps=80)" in refused.reason
    record = plan(Existing(short, finished=True), long)                 # no checkpoint to extend
    assert isinstance(record, Refuse) and "record" in record.reason and "--replace" in record.reason
    assert plan(Existing(short), long) == Fresh(leftovers=True)


def test_the_budget_of_a_guided_classifier_extends_on_its_own_key():
    base = load_config("moons-dlsm-ce", {"guidance.classifier_steps": 50})
    more = load_config("moons-dlsm-ce", {"guidance.classifier_steps": 120})
    assert differences(base, more) == ["guidance.classifier_steps"]
    assert plan(Existing(base, True, True), more) == Extend("guidance.classifier_steps", 120)


def test_any_other_difference_is_refused_naming_the_keys_and_replace():
    refused = plan(Existing(_cfg(), True, True), _cfg(optim__lr_g=5e-4, steps=80))
    assert isinstance(refused, Refuse)
    assert "optim.lr_g: 0.001 → 0.0005" in refused.reason and "steps: 40 → 80" in refused.reason
    assert "--replace" in refused.reason


def test_apply_deletes_only_leftovers_or_what_replace_allows(tmp_path):
    cfg = _cfg()
    train_or_reuse("ring8-nsgan", tmp_path / "run", dict(FAST))
    decision = plan(inspect(tmp_path / "run"), _cfg(optim__lr_g=5e-4))
    with pytest.raises(UserError, match=r"run'.*another configuration.*--replace"):
        apply(tmp_path / "run", decision)
    assert RunDir(tmp_path / "run").summary_file.exists()                # nothing deleted
    assert apply(tmp_path / "run", decision, replace=True) == Fresh()
    assert not (tmp_path / "run").exists()
    (tmp_path / "killed").mkdir()
    RunDir(tmp_path / "killed").write_config("steps: 40\n")
    assert inspect(tmp_path / "killed") == Existing(load_config({}, {"steps": 40}))
    assert apply(tmp_path / "killed", Fresh(leftovers=True)) == Fresh()
    assert not (tmp_path / "killed").exists()
    assert apply(tmp_path / "x", Reuse()) == Reuse() and cfg.steps == 40


@pytest.mark.slow
def test_a_new_classifier_budget_extends_the_dlsm_runs_and_nothing_is_deleted(tmp_path):
    """The dlsm-digits study's case: its budget is guidance.classifier_steps of runs that share a
    score net. A larger budget extends each run; another change is refused, not retrained."""
    small = {"diffusion.nfe": 5, "eval.n_samples": 64, "model.width": 8, "eval.interval": 0,
             "log.checkpoint_interval": 5, "backend.threads": 1}
    score = train_or_reuse("digits-dlsm-ce", tmp_path / "score",
                           {**small, "steps": 10, "guidance.classifier_steps": 0,
                            "guidance.classifier": "none"})
    over = {**small, "guidance.score_run": str(score.path), "guidance.classifier_steps": 10}
    first = train_or_reuse("digits-dlsm-ce", tmp_path / "ce", over)
    assert first.summary["updates"]["classifier"] == 10
    longer = train_or_reuse("digits-dlsm-ce", tmp_path / "ce", {**over,
                                                                "guidance.classifier_steps": 20})
    assert longer.summary["updates"]["classifier"] == 20
    assert any(r.get("event") == "extended" and r["to_steps"] == 20
               for r in longer.dir.read_metrics())
    with pytest.raises(UserError, match="another configuration.*--replace"):
        train_or_reuse("digits-dlsm-ce", tmp_path / "ce", {**over, "guidance.ce_weight": 0.5,
                                                           "guidance.classifier_steps": 20})
    assert longer.dir.summary_file.exists()


def test_a_reworded_description_is_the_same_run():
    stored, wanted = _cfg(), _cfg(description="the same run, described anew")
    assert differences(stored, wanted) == []
    assert plan(Existing(stored, finished=True, checkpointed=True), wanted) == Reuse()
