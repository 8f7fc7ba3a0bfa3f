"""Cross-check: EPyMARL's own Q-learning code, unchanged, trained on genarena's LBF task with a
`-paper` preset's settings, to tell a learner difference from an environment difference.

EPyMARL is not a dependency: pass the `src` folder of a checkout (the paper's code is commit
83a745bc of uoe-agents/epymarl). The script imports its episode buffer, controller, agent and
`QLearner`, and replaces only its runner (whose gym wrapper needs gym 0.21) with the same loop
over genarena's task: one episode, then one update on 32 episodes; test episodes every
`--eval-interval` steps. It writes one JSON line per evaluation.

    python benchmarks/crosscheck/epymarl_lbf.py --epymarl /path/to/epymarl/src \
        --preset marl-lbf-10x10-3p-3f-iql-paper --seed 0 --steps 400000 --out iql-s0.jsonl
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from types import SimpleNamespace

import numpy as np
import torch

from genarena.config import load_config
from genarena.rl.envs.tasks import make_task


def epymarl_args(cfg, task) -> SimpleNamespace:
    """EPyMARL's arguments for the preset's method and hyperparameters."""
    m = cfg.marl
    mixer = {"iql": None, "vdn": "vdn", "qmix": "qmix"}[m.method]
    target = m.target_tau if m.target_tau > 0 else m.target_update
    return SimpleNamespace(
        n_agents=task.n_agents, n_actions=task.n_actions, state_shape=task.state_dim,
        agent="rnn", use_rnn=True, hidden_dim=m.hidden, obs_agent_id=True,
        obs_last_action=m.last_action, agent_output_type="q", action_selector="epsilon_greedy",
        epsilon_start=m.epsilon_start, epsilon_finish=m.epsilon_end,
        epsilon_anneal_time=m.epsilon_decay, evaluation_epsilon=m.test_epsilon, lr=m.lr,
        gamma=m.gamma, batch_size=m.batch, buffer_size=m.replay,
        standardise_rewards=m.reward_standardise, double_q=True, grad_norm_clip=m.grad_clip,
        target_update_interval_or_tau=target, mixer=mixer, mixing_embed_dim=m.mixer_embed,
        hypernet_layers=2 if m.hypernet_embed else 1, hypernet_embed=m.hypernet_embed,
        learner_log_interval=10 ** 12, device="cpu", use_cuda=False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epymarl", required=True, help="the src folder of an EPyMARL checkout")
    p.add_argument("--preset", default="marl-lbf-10x10-3p-3f-iql-paper")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=400_000)
    p.add_argument("--eval-interval", type=int, default=50_000)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    sys.path.insert(0, a.epymarl)
    from components.episode_buffer import EpisodeBatch, ReplayBuffer
    from components.transforms import OneHot
    from controllers.basic_controller import BasicMAC
    from learners.q_learner import QLearner

    cfg = load_config(a.preset)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(1)
    task = make_task(cfg.marl.task, cfg.marl.raw_observations)
    args = epymarl_args(cfg, task)
    scheme = {"state": {"vshape": task.state_dim},
              "obs": {"vshape": task.obs_dim, "group": "agents"},
              "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
              "avail_actions": {"vshape": (task.n_actions,), "group": "agents",
                                "dtype": torch.int},
              "reward": {"vshape": (1,)}, "terminated": {"vshape": (1,), "dtype": torch.uint8}}
    groups = {"agents": task.n_agents}
    preprocess = {"actions": ("actions_onehot", [OneHot(out_dim=task.n_actions)])}
    buffer = ReplayBuffer(scheme, groups, args.buffer_size, task.horizon + 1,
                          preprocess=preprocess, device="cpu")
    mac = BasicMAC(buffer.scheme, groups, args)
    new_batch = partial(EpisodeBatch, scheme, groups, 1, task.horizon + 1,
                        preprocess=preprocess, device="cpu")
    learner = QLearner(mac, buffer.scheme, SimpleNamespace(log_stat=lambda *_: None), args)

    def episode(seed: int, t_env: int, test: bool) -> tuple[object, float, int]:
        """EPyMARL's episode runner's loop; a time limit is terminal, as its gym wrapper's."""
        batch = new_batch()
        obs, state, avail = task.reset(seed)
        mac.init_hidden(1)
        total, t, done = 0.0, 0, False

        def observe() -> None:
            batch.update({"state": [state.numpy()], "avail_actions": [avail.int().numpy()],
                          "obs": [obs.numpy()]}, ts=t)

        while not done:
            observe()
            actions = mac.select_actions(batch, t_ep=t, t_env=t_env, test_mode=test)
            obs, state, avail, r, terminated, truncated = task.step(actions[0])
            t += 1
            done = bool(terminated or truncated or t >= task.horizon)
            total += r
            batch.update({"actions": actions, "reward": [(r,)], "terminated": [(done,)]}, ts=t - 1)
        observe()
        batch.update({"actions": mac.select_actions(batch, t_ep=t, t_env=t_env, test_mode=test)},
                     ts=t)
        return batch, total, t

    t_env, episodes, last_eval, start = 0, 0, None, time.time()
    with open(a.out, "w") as out:
        while t_env <= a.steps:
            if last_eval is None or t_env - last_eval >= a.eval_interval:
                last_eval = t_env
                returns = [episode(10 ** 9 + i, t_env, True)[1] for i in range(cfg.marl.test_episodes)]
                row = {"step": t_env, "test_return": float(np.mean(returns)),
                       "elapsed": round(time.time() - start, 1)}
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(json.dumps(row), flush=True)
            batch, _, t = episode(a.seed * 10 ** 6 + episodes, t_env, False)
            t_env, episodes = t_env + t, episodes + 1
            buffer.insert_episode_batch(batch)
            if buffer.can_sample(args.batch_size):
                sample = buffer.sample(args.batch_size)
                learner.train(sample[:, :sample.max_t_filled()], t_env, episodes)


if __name__ == "__main__":
    main()
