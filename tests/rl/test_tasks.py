"""The task adapters (LBF, PettingZoo MPE, the matrix game) and the parallel runner: shapes,
seeded episodes that replay exactly, the time limit a truncation, the team reward a sum."""
import numpy as np
import pytest
import torch

from genarena.errors import UserError
from genarena.rl import MultiAgentLearner, RLSettings
from genarena.rl.envs.tasks import TASKS, make_task
from genarena.rl.runner import episode_seed, run_batch

pytest.importorskip("lbforaging")
pytest.importorskip("mpe2")


@pytest.mark.parametrize("name", ["lbf-8x8-2p-2f-coop", "mpe-spread", "matrix"])
def test_tasks_keep_their_interface_and_replay_a_seed(name):
    task = make_task(name)
    obs, state, avail = task.reset(3)
    assert obs.shape == (task.n_agents, task.obs_dim) and state.shape == (task.state_dim,)
    assert avail.shape == (task.n_agents, task.n_actions) and avail.dtype == torch.bool
    actions = torch.zeros(task.n_agents, dtype=torch.long)
    first = task.step(actions)
    again = (task.reset(3), task.step(actions))
    torch.testing.assert_close(again[0][0], obs)
    torch.testing.assert_close(again[1][0], first[0])
    assert again[1][3] == first[3]
    task.close()


def test_the_time_limit_truncates_and_does_not_terminate():
    task = make_task("mpe-spread")
    task.reset(0)
    ends = [task.step(torch.zeros(3, dtype=torch.long))[4:] for _ in range(task.horizon)]
    assert ends[-1] == (False, True) and all(e == (False, False) for e in ends[:-1])
    lbf = make_task("lbf-8x8-2p-2f-coop")
    lbf.reset(0)
    for _ in range(lbf.horizon):                    # standing still never collects food
        *_, reward, terminated, truncated = lbf.step(torch.zeros(2, dtype=torch.long))
    assert reward == 0.0 and (terminated, truncated) == (False, True)


class _FakeParallelEnv:
    """A PettingZoo-style parallel environment with known rewards: agent i gets i + 1."""
    possible_agents = ["a", "b"]
    max_cycles = 3

    def __init__(self):
        import gymnasium
        self.spaces = gymnasium.spaces
        self.t = 0

    def action_space(self, agent):
        return self.spaces.Discrete(4)

    def observation_space(self, agent):
        return self.spaces.Box(-1, 1, (2,))

    def reset(self, seed=None):
        self.t = 0
        return {a: [float(seed or 0), i] for i, a in enumerate(self.possible_agents)}, {}

    def state(self):
        raise NotImplementedError

    def step(self, actions):
        self.t += 1
        obs = {a: [float(actions[a]), self.t] for a in self.possible_agents}
        done = self.t >= self.max_cycles
        return (obs, {"a": 1.0, "b": 2.0}, {"a": False, "b": False},
                {"a": done, "b": done}, {})

    def close(self):
        pass


def test_parallel_adapter_sums_rewards_and_concatenates_observations_as_state():
    from genarena.rl.envs.tasks import ParallelTask
    task = ParallelTask(_FakeParallelEnv)
    assert (task.n_agents, task.n_actions, task.obs_dim, task.state_dim, task.horizon) == \
        (2, 4, 2, 4, 3)
    obs, state, _ = task.reset(7)
    assert obs.tolist() == [[7.0, 0.0], [7.0, 1.0]] and state.tolist() == [7.0, 0.0, 7.0, 1.0]
    ends = [task.step(torch.tensor([3, 1])) for _ in range(3)]
    assert all(e[3] == 3.0 for e in ends)                       # team reward = 1 + 2
    assert ends[0][0].tolist() == [[3.0, 1.0], [1.0, 1.0]]
    assert [e[4:] for e in ends] == [(False, False), (False, False), (False, True)]


def test_unknown_task_names_the_key():
    with pytest.raises(UserError, match="marl.task"):
        make_task("starcraft")
    assert {"lbf-8x8-2p-2f-coop", "mpe-spread"} <= set(TASKS)


def test_parallel_runner_episodes_are_seeded_and_whole():
    tasks = [make_task("lbf-8x8-2p-2f-coop") for _ in range(3)]
    learner = MultiAgentLearner("qmix", 2, tasks[0].obs_dim, tasks[0].state_dim, 6, 50,
                                RLSettings(hidden=8), seed=0, recurrent=True)
    seeds = [episode_seed(0, i) for i in range(3)]
    batch = run_batch(learner, tasks, seeds, epsilon=0.0)
    assert len(batch.episodes) == 3 and batch.steps == sum(len(e) for e in batch.episodes)
    for ep in batch.episodes:
        assert ep.obs.shape[0] == len(ep) + 1 and ep.avail.shape[0] == len(ep) + 1
    again = run_batch(learner, tasks, seeds, epsilon=0.0)
    for a, b in zip(batch.episodes, again.episodes):
        torch.testing.assert_close(a.obs, b.obs)
        torch.testing.assert_close(a.actions, b.actions)
    assert episode_seed(0, 5) != episode_seed(0, 5, test=True) != episode_seed(1, 5)


def test_spreads_team_reward_maps_exactly_onto_epymarls_published_scale():
    """Hand-computed from the world at every step: the reward of the authors' MPE fork (each agent
    G plus −1 for every agent it touches, itself included; the sum shared) against PettingZoo's
    local_ratio 0.5 team reward, over a whole random episode with collisions."""
    import numpy as np
    pytest.importorskip("mpe2")
    from mpe2 import simple_spread_v3

    from genarena.rl.envs.tasks import SPREAD_STEPS, TASKS, spread_on_epymarls_scale
    env = simple_spread_v3.parallel_env(N=3, local_ratio=0.5, max_cycles=SPREAD_STEPS,
                                        continuous_actions=False)
    env.reset(seed=3)
    world, rng = env.unwrapped.world, np.random.default_rng(0)
    ours, fork, touches = 0.0, 0.0, 0

    def touching(a, b):
        return np.linalg.norm(a.state.p_pos - b.state.p_pos) < a.size + b.size
    for _ in range(SPREAD_STEPS):
        # every agent steers to the centre, so they meet and collide
        _, rewards, _, _, _ = env.step({a: int(rng.integers(1, 5)) if rng.random() < 0.3 else
                                        (1 if world.agents[i].state.p_pos[0] > 0 else 2)
                                        for i, a in enumerate(env.agents)})
        g = -sum(min(np.linalg.norm(a.state.p_pos - lm.state.p_pos) for a in world.agents)
                 for lm in world.landmarks)
        fork_step = sum(g - sum(touching(other, agent) for other in world.agents)
                        for agent in world.agents)
        step = sum(rewards.values())
        assert fork_step == pytest.approx(2 * step - 3, abs=1e-9)
        touches += sum(touching(a, b) for a in world.agents for b in world.agents if a is not b)
        ours, fork = ours + step, fork + fork_step
    assert spread_on_epymarls_scale(ours) == pytest.approx(fork, abs=1e-9)
    assert TASKS["mpe-spread"].published is spread_on_epymarls_scale
    assert touches > 0                                 # the episode did test the collision term


def test_lbf_observations_are_divided_by_the_side_unless_raw_as_epymarl():
    """The default divides LBF's observations (coordinates, levels, −1 out of sight) by the
    grid's side, so every input lies in [−1, 1]; marl.raw_observations passes the environment's
    own vector, as EPyMARL does. The same seed gives the same episode either way."""
    scaled, raw = make_task("lbf-10x10-3p-3f"), make_task("lbf-10x10-3p-3f", raw_observations=True)
    actions = torch.tensor([1, 2, 3])
    for task_obs in zip(scaled.reset(7)[:2], raw.reset(7)[:2]), zip(scaled.step(actions)[:2],
                                                                    raw.step(actions)[:2]):
        for small, big in task_obs:
            torch.testing.assert_close(small * 10, big)
            assert small.abs().max() <= 1 and big.abs().max() > 1      # coordinates reach 9
    env_obs, _ = raw._make().reset(seed=11)                   # a fresh environment, as reset's
    torch.testing.assert_close(raw.reset(11)[0], torch.tensor(np.stack(env_obs), dtype=torch.float32))
    # the other tasks have no scaling: raw or not, the same observations
    torch.testing.assert_close(make_task("mpe-spread", True).reset(0)[0],
                               make_task("mpe-spread").reset(0)[0])


def test_the_papers_lbf_never_spawns_a_food_every_agent_must_load():
    """EPyMARL's paper ran lbforaging before 2.0, whose food levels are drawn from [1, the agents'
    level sum) (numpy's exclusive randint); lbforaging 2.0's -v3 draws from [1, sum]. Over the same
    resets the paper's task never needs all three agents on one food, -v3 often does, and both
    keep player levels 1–2 and the food count."""
    paper, v3 = make_task("lbf-10x10-3p-3f-paper"), make_task("lbf-10x10-3p-3f")
    needs_all = {"paper": 0, "v3": 0}
    for seed in range(200):
        for name, task in (("paper", paper), ("v3", v3)):
            task.reset(seed)
            levels = [p.level for p in task.env.players]
            foods = task.env.field[task.env.field > 0]
            assert set(levels) <= {1, 2} and len(foods) == 3 and foods.min() >= 1
            assert foods.max() <= sum(levels) - (name == "paper")
            needs_all[name] += int((foods == sum(levels)).any())
    assert needs_all["paper"] == 0 and needs_all["v3"] > 60          # about 56% of episodes
    assert (paper.n_agents, paper.obs_dim, paper.horizon) == (v3.n_agents, v3.obs_dim, v3.horizon)
