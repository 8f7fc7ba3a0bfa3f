"""E-GAN: children by mutation, selection by fitness, state that resumes."""
import copy

import pytest
import torch
from helpers import FAST, as_kwargs

import genarena
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.train.egan import EGANTrainer

EGAN = {**FAST, "trainer.name": "egan", "loss.name": "bce", "steps": 20}


def _trainer(**extra):
    cfg = load_config("ring8-nsgan", {**EGAN, **extra})
    torch.manual_seed(0)
    return EGANTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))


def test_a_step_makes_one_child_per_mutation_and_keeps_the_fittest(monkeypatch):
    t = _trainer()
    children = []                          # (fitness, generator weights) of every child scored
    scored = t.fitness

    batches = []                           # what each child was judged on

    def recording(real, z):
        quality, diversity = scored(real, z)
        children.append((quality + t.cfg.egan.diversity_weight * diversity,
                         copy.deepcopy(t.g.state_dict())))
        batches.append((real, z))
        return quality, diversity
    monkeypatch.setattr(t, "fitness", recording)
    stats = t.train_step()
    assert len(children) == 3 and t.generator_updates_per_step == 3
    # every child on the same real batch and latents (the reference code's protocol)
    assert all(r is batches[0][0] and z is batches[0][1] for r, z in batches)
    fittest = max(range(3), key=lambda i: children[i][0])
    assert [stats[f"chosen_{m}"] for m in ("bce", "lip-heu", "lip-mse")] == \
        [1.0 if i == fittest else 0.0 for i in range(3)]
    assert stats["fitness"] == children[fittest][0]
    # The kept generator is the fittest child, as the live G and as the saved parent.
    for weights in (t.g.state_dict(), t.parents[0][0]):
        assert all(torch.equal(a, b) for a, b in zip(weights.values(),
                                                      children[fittest][1].values()))


def test_the_parent_optimizer_state_is_not_changed_by_its_children():
    t = _trainer()
    t.train_step()
    old_parent = t.parents[0]              # the saved state itself, not a copy of it
    before = copy.deepcopy(old_parent[1])
    t.d_phase()
    t.g_phase()          # trains three children from the parent
    # Training the children left the parent's saved moments and step count as they were...
    for key, state in before["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(old_parent[1]["state"][key][name]),
                               torch.as_tensor(value)), name
    # ...and the new parent is a child, one optimizer step further.
    assert int(t.parents[0][1]["state"][0]["step"]) == int(before["state"][0]["step"]) + 1


def test_fitness_prefers_a_generator_that_fools_the_discriminator():
    t = _trainer()
    real, z = t._real(), t._latent()
    q_before, _ = t.fitness(real, z)
    with torch.no_grad():                 # make D call everything real
        t.d.net[-1].bias.fill_(50.0)
    q_after, _ = t.fitness(real, z)
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


def test_diversity_is_minus_the_log_of_ds_squared_gradient_norm():
    t = _trainer()
    real, z = t._real(), t._latent()
    quality, diversity = t.fitness(real, z)
    fake = t.g(z).detach()
    loss = torch.nn.functional.softplus(-t.d(real)).mean() + torch.nn.functional.softplus(t.d(fake)).mean()
    grads = torch.autograd.grad(loss, list(t.d.parameters()))
    squared = sum(g.pow(2).sum() for g in grads)
    assert diversity == pytest.approx(-torch.log(squared).item(), rel=1e-5)
    assert quality == pytest.approx(torch.sigmoid(t.d(fake)).mean().item(), rel=1e-6)


def test_the_toy_presets_use_the_references_diversity_weight():
    assert load_config("ring8-egan").egan.diversity_weight == 1.0
    assert load_config("grid25-egan").egan.diversity_weight == 1.0
    assert load_config("mnist5k-egan").egan.diversity_weight == 0.001
