"""The mixers of docs/dfac.md: sums, monotone QMIX, DMIX's mean-shape decomposition, and DIGM."""
import itertools

import pytest
import torch

from genarena.rl import METHODS, DMixer, MultiAgentLearner, QMixer, RLSettings, SumMixer


def monotone_check(mixer: torch.nn.Module, n_agents: int, state_dim: int, seed: int = 0) -> float:
    """Smallest ∂Q_jt/∂Q_k over random inputs (≥ 0 for a monotone mixer)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(64, 4, n_agents, generator=gen).requires_grad_(True)
    s = torch.randn(64, state_dim, generator=gen)
    mixer(z, s).sum().backward()
    return float(z.grad.min())


def _z(b=8, n=16, k=3, seed=0):
    return torch.randn(b, n, k, generator=torch.Generator().manual_seed(seed))


def test_sum_mixer_adds_agents_quantile_by_quantile():
    z = _z()
    assert torch.allclose(SumMixer()(z, torch.zeros(8, 4)), z.sum(-1))


@pytest.mark.parametrize("hyper_embed", [0, 16])
def test_qmixer_shapes_and_monotonicity(hyper_embed):
    """One-layer hypernetworks (QMIX paper) or two (EPyMARL's hypernet_layers 2): monotone."""
    torch.manual_seed(0)
    mixer = QMixer(3, 4, embed=8, hyper_embed=hyper_embed)
    assert mixer(_z(), torch.randn(8, 4)).shape == (8, 16)
    assert monotone_check(mixer, 3, 4) >= 0.0
    assert isinstance(mixer.w1, torch.nn.Sequential) == (hyper_embed > 0)


def test_dmix_mean_equals_its_qmix_head():
    torch.manual_seed(0)
    mixer, z, s = DMixer(3, 4, embed=8), _z(), torch.randn(8, 4)
    joint = mixer(z, s)
    head = mixer.qmix(z.mean(1, keepdim=True), s)[:, 0]
    assert torch.allclose(joint.mean(1), head, atol=1e-5)
    assert monotone_check(mixer, 3, 4) >= 0.0


def test_ddn_joint_quantiles_are_the_sum_of_the_agents_and_its_mean_is_vdns():
    learner = MultiAgentLearner("ddn", 3, 5, 5, 4, 1, RLSettings(hidden=16), 0)
    obs = torch.randn(6, 3, 5, generator=torch.Generator().manual_seed(2))
    actions = torch.randint(4, (6, 3), generator=torch.Generator().manual_seed(3))
    taus = learner.midpoints(6)
    with torch.no_grad():
        joint = learner.joint_quantiles(obs, obs[:, 0], actions, taus)          # (6, N)
        agents = learner.online["agents"](obs, taus)                             # (6, N, K, A)
        for b in range(6):
            # quantile by quantile, the joint return is the sum of the chosen utilities...
            chosen = torch.stack([agents[b, :, k, actions[b, k]] for k in range(3)], -1)
            assert torch.allclose(joint[b], chosen.sum(-1), atol=1e-5)
            # ...so its mean is the sum of the agents' expected utilities (VDN on the means)
            q = learner.q_values(obs[b])
            assert joint[b].mean() == pytest.approx(float(sum(q[k, actions[b, k]] for k in range(3))),
                                                   abs=1e-5)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_greedy_joint_action_is_the_per_agent_argmax(method):
    """DIGM: over all joint actions, the best expected joint value is at the agents' argmaxes."""
    k, a, obs_dim = 3, 4, 5
    learner = MultiAgentLearner(method, k, obs_dim, obs_dim, a, 1, RLSettings(hidden=16), 0)
    obs = torch.randn(1, k, obs_dim, generator=torch.Generator().manual_seed(1))
    state = obs[:, 0]
    greedy = learner.act(obs[0], greedy=True)
    joints = torch.tensor(list(itertools.product(range(a), repeat=k)))
    n = len(joints)
    with torch.no_grad():
        values = learner.joint_quantiles(obs.expand(n, -1, -1), state.expand(n, -1), joints,
                                         learner.midpoints(n)).mean(1)
    if METHODS[method].mixer is None:              # independent: each agent's own value
        for agent in range(k):
            assert int(values[:, agent].argmax() // a ** (k - 1 - agent) % a) == int(greedy[agent])
    else:
        assert joints[int(values.argmax())].tolist() == greedy.tolist()


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown factorisation method"):
        MultiAgentLearner("qtran", 2, 3, 3, 2, 2, RLSettings(), 0)


@pytest.mark.parametrize("method", ["ddn", "dmix", "diql"])
def test_joint_quantiles_are_monotone_in_omega(method):
    learner = MultiAgentLearner(method, 3, 5, 5, 4, 1, RLSettings(hidden=16), 0)
    obs = torch.randn(6, 3, 5, generator=torch.Generator().manual_seed(2))
    actions = torch.randint(4, (6, 3), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        joint = learner.joint_quantiles(obs, obs[:, 0], actions, learner.midpoints(6, 64))
    assert (joint.diff(dim=1) >= 0).all()
