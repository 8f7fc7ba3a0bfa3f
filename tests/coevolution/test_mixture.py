"""Generator mixtures: sampling by weight, the (1+1)-ES, and the mixture score."""
import torch

from genarena.coevolution.mixture import MixtureGenerator, es_step
from genarena.data import BUILTIN
from genarena.metrics.proxy import TrainingDistance


class Constant:
    """A 'generator' that always outputs the same 2-D point."""
    conditional = False

    def __init__(self, value):
        self.value = value

    def generate(self, n, rng, labels=None):
        return torch.full((n, 2), float(self.value))


def test_mixture_samples_members_in_proportion_to_weights():
    mix = MixtureGenerator([Constant(0), Constant(1), Constant(2)], [0.2, 0.5, 0.3])
    x = mix.generate(20000, torch.Generator().manual_seed(0))
    share = torch.bincount(x[:, 0].long(), minlength=3).double() / len(x)
    assert torch.allclose(share, torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64), atol=0.015)


def test_mixture_is_deterministic_for_a_seed_and_normalises_weights():
    mix = MixtureGenerator([Constant(0), Constant(1)], [2.0, 6.0])
    assert torch.allclose(mix.weights, torch.tensor([0.25, 0.75], dtype=torch.float64))
    a = mix.generate(100, torch.Generator().manual_seed(3))
    b = mix.generate(100, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_zero_weight_members_never_appear():
    mix = MixtureGenerator([Constant(0), Constant(1)], [1.0, 0.0])
    assert (mix.generate(1000, torch.Generator().manual_seed(0)) == 0).all()


def test_es_never_accepts_a_worse_mixture():
    rng = torch.Generator().manual_seed(0)
    scores = torch.Generator().manual_seed(1)
    weights, score, accepted = [0.25] * 4, 0.5, 0
    for _ in range(300):
        new_w, new_score = es_step(weights, score,
                                   lambda w: torch.rand((), generator=scores).item(), 0.05, rng)
        assert new_score <= score
        if new_w != weights:
            accepted += 1
            assert new_score < score
            assert abs(sum(new_w) - 1) < 1e-9 and min(new_w) >= 0
        else:
            assert new_score == score
        weights, score = new_w, new_score
    assert accepted > 0


def test_es_moves_towards_a_better_mixture():
    target = torch.tensor([0.7, 0.1, 0.1, 0.1], dtype=torch.float64)
    loss = lambda w: float((torch.tensor(w, dtype=torch.float64) - target).norm())  # noqa: E731
    rng = torch.Generator().manual_seed(0)
    weights = [0.25] * 4
    score = loss(weights)
    for _ in range(400):
        weights, score = es_step(weights, score, loss, 0.02, rng)
    assert score < 0.1


def test_swd_score_prefers_real_data_to_a_collapsed_mixture():
    ring8 = BUILTIN["ring8"].factory()
    scorer = TrainingDistance(ring8, "auto", 1000, seed=0)
    assert scorer.kind == "swd"

    class Real:
        conditional = False

        def generate(self, n, rng, labels=None):
            return ring8.sampler(n, rng)[0]

    assert scorer(Real()) < 0.05 < scorer(Constant(0.7))
