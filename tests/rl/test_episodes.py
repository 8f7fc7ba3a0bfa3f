"""Episode replay: padding, masks, team rewards shared by independent agents, state round trip."""
import pytest
import torch

from genarena.rl import Episode, EpisodeReplay


def _episode(t, k=2, o=3, s=3, reward=1.0):
    return Episode(torch.ones(t + 1, k, o), torch.ones(t + 1, s), torch.ones(t, k, dtype=torch.long),
                   torch.full((t,), reward), torch.tensor([0.0] * (t - 1) + [1.0]))


def test_short_episodes_are_padded_and_masked():
    replay = EpisodeReplay(4, horizon=3, n_agents=2, obs_dim=3, state_dim=3)
    replay.add(_episode(2))
    replay.add(_episode(3))
    batch = replay.sample(16, torch.Generator().manual_seed(0))
    assert batch["obs"].shape == (16, 4, 2, 3) and batch["actions"].shape == (16, 3, 2)
    short = batch["mask"].sum(1) == 2
    assert 0 < short.sum() < 16
    assert batch["mask"][short][0].tolist() == [1.0, 1.0, 0.0]
    assert batch["terminated"][short][0].tolist() == [0.0, 1.0, 0.0]


def test_a_batch_is_cut_to_its_longest_episode_as_pymarls():
    # PyMARL's run loop: "truncate batch to only filled timesteps" before the learner sees it
    replay = EpisodeReplay(4, horizon=5, n_agents=2, obs_dim=3, state_dim=3)
    replay.add(_episode(1))
    replay.add(_episode(2))
    batch = replay.sample(8, torch.Generator().manual_seed(0))
    assert batch["mask"].sum(1).max() == 2
    assert {k: tuple(v.shape[:2]) for k, v in batch.items()} == {
        "obs": (8, 3), "state": (8, 3), "avail": (8, 3),
        "actions": (8, 2), "reward": (8, 2), "terminated": (8, 2), "mask": (8, 2)}


def test_ring_buffer_overwrites_oldest_and_round_trips():
    replay = EpisodeReplay(2, horizon=2, n_agents=2, obs_dim=3, state_dim=3)
    for r in (1.0, 2.0, 3.0):
        replay.add(_episode(2, reward=r))
    assert len(replay) == 2 and sorted(replay.data["reward"][:, 0].tolist()) == [2.0, 3.0]
    copy = EpisodeReplay(2, horizon=2, n_agents=2, obs_dim=3, state_dim=3)
    copy.load_state_dict(replay.state_dict())
    for key, value in replay.data.items():
        assert torch.equal(copy.data[key], value)


def test_team_reward_is_shared_by_independent_agents():
    replay = EpisodeReplay(2, horizon=2, n_agents=2, obs_dim=3, state_dim=3, per_agent_reward=True)
    replay.add(_episode(2, reward=5.0))
    assert replay.data["reward"][0].tolist() == [[5.0, 5.0], [5.0, 5.0]]


def test_too_long_episode_is_refused():
    replay = EpisodeReplay(2, horizon=1, n_agents=2, obs_dim=3, state_dim=3)
    with pytest.raises(ValueError, match="horizon"):
        replay.add(_episode(2))
