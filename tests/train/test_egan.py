"""E-GAN: children by mutation, selection by fitness, state that resumes."""
import copy

import torch

import genarena
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.train.egan import EGANTrainer

from helpers import FAST, as_kwargs

EGAN = {**FAST, "trainer.name": "egan", "loss.name": "bce", "steps": 20}


def _trainer(**extra):
    cfg = load_config("ring8-nsgan", {**EGAN, **extra})
    torch.manual_seed(0)
    return EGANTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))


def test_a_step_makes_one_child_per_mutation_and_keeps_the_fittest():
    t = _trainer()
    stats = t.train_step()
    chosen = [stats[f"chosen_{m}"] for m in ("bce", "nsgan", "lsgan")]
    assert sorted(chosen) == [0.0, 0.0, 1.0]
    assert t.generator_updates_per_step == 3
    # The kept generator is the selected child, with its optimizer state.
    assert all(torch.equal(a, b) for a, b in zip(t.g.state_dict().values(),
                                                  t.parents[0][0].values()))


def test_the_parent_optimizer_state_is_not_changed_by_its_children():
    t = _trainer()
    t.train_step()
    parent_opt = copy.deepcopy(t.parents[0][1])
    t.d_phase()
    t.g_phase()          # trains three children from the parent
    # The new parent came from one child; the old parent's saved state is unchanged by training.
    assert parent_opt["state"][0]["step"] == 1
    assert t.parents[0][1]["state"][0]["step"] == 2


def test_fitness_prefers_a_generator_that_fools_the_discriminator():
    t = _trainer()
    q_before, _ = t.fitness()
    with torch.no_grad():                 # make D call everything real
        t.d.net[-1].bias.fill_(50.0)
    q_after, _ = t.fitness()
    assert q_after > 0.99 > q_before


def test_egan_runs_end_to_end(tmp_path):
    run = genarena.train("ring8-nsgan", out=tmp_path / "a", **as_kwargs(EGAN))
    assert run.summary["trainer"] == "egan"
    assert {"modes_captured", "swd"} <= set(run.summary["metrics"])
    assert run.sample(50).shape == (50, 2)


def test_state_round_trip_continues_exactly():
    a = _trainer()
    for _ in range(5):
        a.train_step()
    b = _trainer()
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    for _ in range(5):
        a.train_step()
        b.train_step()
    assert all(torch.equal(x, y) for x, y in zip(a.g.state_dict().values(),
                                                  b.g.state_dict().values()))
