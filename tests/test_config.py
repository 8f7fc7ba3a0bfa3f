"""The configuration system: defaults, presets, base chains, overrides and strict validation."""
import dataclasses

import pytest

from genarena.config import Config, field_docs, load_config, load_raw, parse_override, preset_names
from genarena.errors import UserError
from genarena.losses import LOSSES


def test_every_loss_has_ring8_and_grid25_presets():
    names = set(preset_names())
    for loss in LOSSES:
        assert f"ring8-{loss}" in names and f"grid25-{loss}" in names


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_validates_and_describes_itself(name):
    cfg = load_config(name)
    assert cfg.description
    assert isinstance(cfg, Config)


def test_base_chain_and_defaults():
    cfg = load_config("ring8-wgan")
    assert cfg.model.g_hidden == [400, 400, 400, 400]       # from _toy-gan
    assert cfg.optim.name == "rmsprop" and cfg.trainer.d_steps == 5
    assert cfg.loss.clip == 0.01 and cfg.loss.gp_weight == 0.0  # resolved loss defaults
    assert load_config("ring8-wgan-gp").loss.gp_weight == 10.0


def test_overrides_take_precedence_and_read_numbers():
    cfg = load_config("ring8-nsgan", ["optim.lr_g=2e-4", "model.g_hidden=[64, 64]", "seed=7"])
    assert cfg.optim.lr_g == 2e-4 and cfg.model.g_hidden == [64, 64] and cfg.seed == 7
    assert load_config("ring8-wgan", ["loss.clip=0.05"]).loss.clip == 0.05


def test_mapping_overrides_and_dict_config():
    cfg = load_config({"steps": 10, "data": {"name": "grid25"}}, {"loss.name": "hinge"})
    assert cfg.steps == 10 and cfg.data.name == "grid25" and cfg.loss.name == "hinge"


@pytest.mark.parametrize("override,fragment", [
    ("optim.lrd=1", "unknown config key 'optim.lrd'"),
    ("colour=red", "unknown config key 'colour'"),
    ("steps=abc", "'steps': expected an integer"),
    ("steps=1.5", "'steps': expected an integer"),
    ("optim.lr_g=-0.001", "'optim.lr_g': expected a value > 0"),
    ("optim.lr_g=0", "'optim.lr_g': expected a value > 0"),
    ("optim.lr_d=nan", "'optim.lr_d': expected a finite number"),
    ("loss.name=wgan-lp", "'loss.name': expected one of"),
    ("data.batch_size=-4", "'data.batch_size'"),
    ("model.g_hidden=[]", "'model.g_hidden'"),
    ("model.g_hidden=400", "'model.g_hidden': expected a list"),
    ("optim.betas=[0.5]", "'optim.betas'"),
    ("model.pack=3", "'model.pack': expected a divisor"),
    ("data=ring8", "'data': expected a mapping"),
    ("trainer.d_steps=true", "'trainer.d_steps': expected an integer"),
])
def test_bad_values_name_the_key(override, fragment):
    with pytest.raises(UserError) as info:
        load_config("ring8-nsgan", [override])
    assert fragment in str(info.value)


def test_override_syntax():
    assert parse_override("a.b=[1, 2]") == ("a.b", [1, 2])
    assert parse_override("a=null") == ("a", None)
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_override("novalue")
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_override("a..b=1")


def test_yaml_files(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("base: grid25-hinge\nsteps: 12\n")
    assert load_config(str(good)).steps == 12
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [1, 2\n")
    with pytest.raises(UserError, match="malformed YAML"):
        load_config(str(bad))
    loop = tmp_path / "loop.yaml"
    loop.write_text(f"base: {loop}\n")
    with pytest.raises(UserError, match="loops"):
        load_config(str(loop))
    with pytest.raises(UserError, match="unknown preset 'nope'"):
        load_config("nope")
    with pytest.raises(UserError, match="not found"):
        load_config(str(tmp_path / "missing.yaml"))


def test_yaml_is_loaded_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("seed: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(UserError, match="malformed YAML"):
        load_config(str(evil))


def test_field_docs_cover_every_leaf():
    keys = [k for k, _, _ in field_docs()]
    assert "optim.lr_g" in keys and "loss.r1_gamma" in keys
    assert len(keys) == len(set(keys))


def test_presets_do_not_set_unknown_keys():
    for name in preset_names():
        raw = load_raw(name)
        top = {f.name for f in dataclasses.fields(Config)}
        assert set(raw) <= top, name


def test_loop_steps_counts_a_guided_runs_classifier_updates():
    """The loop's step count (progress lines, a curve's last step) from the config alone."""
    assert load_config("ring8-nsgan", {"steps": 700}).loop_steps() == 700
    assert load_config("moons-score", {"steps": 400}).loop_steps() == 400
    guided = {"steps": 400, "guidance.classifier_steps": 150}
    assert load_config("moons-dlsm-total", guided).loop_steps() == 550
    # a reused score net trains no step of its own: only the classifier's updates remain
    shared = {**guided, "guidance.score_run": "runs/score"}
    assert load_config("moons-dlsm-ce", shared).loop_steps() == 150
    # an unguided run on a reused score net has nothing left to train
    assert load_config("moons-score", {"guidance.score_run": "runs/score"}).loop_steps() == 0
