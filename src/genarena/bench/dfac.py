"""`genarena bench dfac` (docs/arena.md): the two-step matrix game with stochastic rewards, every
factorisation method over seeds: greedy joint action, its expected return, the learned joint
expectation, and the 1-Wasserstein distance of the learned joint-return quantiles from the true
two-point distribution, beside the QMIX paper's analysis (QMIX 8, VDN 7)."""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch

from genarena.bench.common import machine_info, peak_rss_mb, write_results
from genarena.config import MARL_METHODS
from genarena.rl import METHODS, MultiAgentLearner, RLSettings, run_episode, train
from genarena.rl.envs.matrix_game import TwoStepGame, true_return, wasserstein1
from genarena.stats import mean_sd

NOISE, GAMMA, EPISODES, OMEGAS = 2.0, 0.99, 3000, 200
# The learners' hyperparameters on the matrix game (PyMARL-like: Adam 5e-4, target copies every
# 100 updates); exploration stays at ε = 1, the QMIX paper's protocol.
MATRIX_GAME_SETTINGS = RLSettings(lr=5e-4, gamma=GAMMA, target_update=100, epsilon_start=1.0,
                                  epsilon_end=1.0, epsilon_decay=500)
PUBLISHED = {"vdn": "7 (QMIX paper)", "qmix": "8 (QMIX paper)", "ddn": "like VDN (DFAC paper)",
             "dmix": "like QMIX (DFAC paper)", "iql": "–", "diql": "–"}
ORDER = MARL_METHODS


def one_run(method: str, seed: int, episodes: int) -> dict[str, Any]:
    """Train one learner with full exploration (the QMIX paper's protocol), then read it greedily."""
    g = TwoStepGame
    settings = MATRIX_GAME_SETTINGS
    learner = MultiAgentLearner(method, g.n_agents, g.obs_dim, g.state_dim, g.n_actions, g.horizon,
                                settings, seed)
    start = time.perf_counter()
    train(learner, TwoStepGame(NOISE, seed=seed), episodes)
    seconds = time.perf_counter() - start
    episode, ret = run_episode(learner, TwoStepGame(noise=0.0), greedy=True)
    first = int(episode.actions[0, 0])
    second = (int(episode.actions[1, 0]), int(episode.actions[1, 1]))
    support, probs = true_return(first, second, NOISE, GAMMA)
    omegas = learner.midpoints(1, OMEGAS)
    with torch.no_grad():
        joint = learner.joint_quantiles(episode.obs[:1], episode.state[:1], episode.actions[:1],
                                        omegas)[0]
    out = {"seed": seed, "joint_action": f"{'2B' if first else '2A'} {second}",
           "expected_return": ret, "train_seconds": seconds}
    if METHODS[method].mixer is not None:
        out["learned_mean"] = float(joint.mean())
        out["true_mean"] = sum(v * p for v, p in zip(support, probs))
    if METHODS[method].distributional and METHODS[method].mixer is not None:
        assert omegas is not None                      # distributional: quantile fractions
        out["w1"] = wasserstein1(joint, support, probs, omegas[0])
    return out


def run(out: Path, quick: bool = False) -> list[Path]:
    """Every method over seeds; results in dfac.json / dfac.md."""
    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    episodes = 300 if quick else EPISODES
    raw = {m: [one_run(m, s, episodes) for s in seeds] for m in ORDER}
    table = ["| method | greedy joint actions (seeds) | expected return | learned E[Z_jt] "
             "(true γ·E) | W1 to the true return distribution | train s | published |",
             "|---|---|---|---|---|---|---|"]
    for m in ORDER:
        rows = raw[m]
        actions: dict[str, int] = {}
        for r in rows:
            actions[r["joint_action"]] = actions.get(r["joint_action"], 0) + 1
        learned = [r["learned_mean"] for r in rows if "learned_mean" in r]
        true = [r["true_mean"] for r in rows if "true_mean" in r]
        table.append(
            f"| {m.upper()} | {', '.join(f'{a} ×{n}' for a, n in sorted(actions.items()))} | "
            f"{mean_sd([r['expected_return'] for r in rows], 2)} | "
            f"{mean_sd(learned, 2) + (f' ({statistics.fmean(true):.2f})' if true else '')} | "
            f"{mean_sd([r['w1'] for r in rows if 'w1' in r], 2)} | "
            f"{statistics.fmean(r['train_seconds'] for r in rows):.1f} | {PUBLISHED[m]} |")
    result = {"suite": "dfac", "command": "genarena bench dfac" + (" --quick" if quick else ""),
              "machine": machine_info(), "noise": NOISE, "gamma": GAMMA, "episodes": episodes,
              "seeds": seeds, "raw": raw, "peak_rss_mb": peak_rss_mb()}
    notes = [f"Rewards of step 2 are payoff ± {NOISE} with equal probability; γ = {GAMMA}; "
             f"{episodes} episodes with ε = 1 (uniform exploration, as in the QMIX paper's "
             "analysis), one update of 32 episodes after each; greedy evaluation.",
             "The true return of a joint policy is γ·(payoff ± c): W1 of a point mass at its "
             f"mean is γ·c = {GAMMA * NOISE:.2f}, the scale to read the W1 column against. "
             f"W1 is measured on {OMEGAS} quantile midpoints from state 1.",
             "Independent learners (IQL, DIQL) have no joint value, so only their greedy action "
             "and return are reported.", f"Peak RSS: {result['peak_rss_mb']:.0f} MB."]
    return write_results(out, "dfac", result, "DFAC: the two-step matrix game", table, notes)
