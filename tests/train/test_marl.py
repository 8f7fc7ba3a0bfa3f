"""The marl trainer end to end: `genarena train marl-<task>-<method>` trains, reports its test
return in summary.json, resumes exactly after SIGKILL, and a learned policy beats a random one."""
import json

import pytest
import torch
from helpers import metric_rows, train_then_kill

import genarena
from genarena.config import load_config
from genarena.train.marl import MARLTrainer, initial_test_return, random_test_return

pytestmark = pytest.mark.slow            # end to end: `make test-fast` leaves it out

pytest.importorskip("lbforaging")
pytest.importorskip("mpe2")

SHORT = {"steps": 1200, "eval.interval": 400, "log.interval": 200,
         "log.checkpoint_interval": 200, "marl.test_episodes": 4, "marl.envs": 4,
         "marl.updates_per_round": 2, "marl.batch": 8, "marl.hidden": 16}


@pytest.mark.parametrize("preset", ["marl-lbf-8x8-2p-2f-coop-dmix", "marl-lbf-10x10-3p-3f-dmix",
                                    "marl-mpe-spread-dmix"])
def test_each_task_trains_and_reports_its_test_return(tmp_path, preset):
    run = genarena.train(preset, out=tmp_path / "r", overrides={**SHORT, "steps": 600})
    s = run.summary
    assert s["trainer"] == "marl" and s["updates"]["environment_steps"] >= 600
    assert s["updates"]["gradient_steps"] > 0 and s["eval"] == {"test_episodes": 4, "test_epsilon": 0.0}
    # the reported test return is what the checkpointed agents score on the run's test episodes
    again = MARLTrainer(run.config, None, torch.device("cpu"))
    try:
        again.load_state_dict(run.dir.load_checkpoint()["trainer_state"])
        assert again.evaluate(None) == s["metrics"]
    finally:
        again.close()
    assert s["metrics"]["test_episodes"] == 4
    rows = [r for r in metric_rows(tmp_path / "r") if "eval" in r]
    assert rows and all("test_return" in r["eval"] for r in rows)
    assert (tmp_path / "r" / "report.html").exists()


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    killed = tmp_path / "killed"
    over = {**SHORT, "marl.task": "mpe-spread"}
    train_then_kill("marl-mpe-spread-dmix", over, killed, after_step=500)
    resumed = genarena.train(resume=killed)
    straight = genarena.train("marl-mpe-spread-dmix", out=tmp_path / "straight", overrides=over)
    assert resumed.summary["metrics"] == straight.summary["metrics"]
    assert metric_rows(killed) == metric_rows(tmp_path / "straight")


def test_a_learned_policy_beats_a_random_one_on_a_small_task(tmp_path):
    over = {"marl.task": "matrix", "steps": 3000, "eval.interval": 1000, "marl.test_episodes": 32,
            "marl.epsilon_decay": 1500, "marl.target_update": 50, "marl.hidden": 32}
    run = genarena.train("marl-mpe-spread-qmix", out=tmp_path / "m", overrides=over)
    learned = run.summary["metrics"]["test_return"]
    # uniform random agents on the same test episodes
    random_return = random_test_return(load_config("marl-mpe-spread-qmix", over))
    assert random_return < 6.0 and learned >= 7.0          # 2A's 7 (or 2B's 8) vs about 4.75


def test_marl_runs_refuse_what_they_cannot_do(tmp_path, cli, capsys):
    from helpers import assert_user_error
    assert_user_error(cli("train", "marl-mpe-spread-qmix", "marl.task=starcraft", "--out",
                          tmp_path / "a"), "marl.task")
    assert_user_error(cli("train", "marl-mpe-spread-qmix", "marl.method=coma", "--out",
                          tmp_path / "b"), "marl.method")
    assert_user_error(cli("train", "marl-mpe-spread-qmix", "--nproc", "2", "--out",
                          tmp_path / "c"), "--nproc")
    run = genarena.train("marl-mpe-spread-vdn", out=tmp_path / "d",
                         overrides={**SHORT, "steps": 100})
    capsys.readouterr()                           # the training's own log lines
    assert_user_error(cli("sample", run.path, "--n", "4", "--out", tmp_path / "x.png"), "marl run")
    assert json.loads((run.path / "summary.json").read_text())["dataset"] == "mpe-spread"


def test_random_agents_give_one_floor_per_task_and_seed_whatever_the_method():
    over = {"marl.test_episodes": 6, "marl.envs": 4}
    floors = {m: random_test_return(load_config(f"marl-mpe-spread-{m}", over))
              for m in ("vdn", "dmix")}
    assert floors["vdn"] == floors["dmix"] < 0            # Spread's rewards are negative distances
    other_seed = random_test_return(load_config("marl-mpe-spread-vdn", {**over, "seed": 1}))
    assert other_seed != floors["vdn"]                     # its own test episodes


# EPyMARL's LBF hyperparameters with parameter sharing (arXiv 2006.07869v4, Tables 12, 26, 28):
# (hidden, lr, evaluation ε, ε-anneal steps, hard target interval or soft τ)
EPYMARL_LBF = {"iql": (128, 3e-4, 0.05, 200_000, ("hard", 200)),
               "vdn": (128, 3e-4, 0.0, 200_000, ("soft", 0.01)),
               "qmix": (64, 3e-4, 0.05, 200_000, ("soft", 0.01))}


@pytest.mark.parametrize("method, base", [("iql", "iql"), ("vdn", "vdn"), ("qmix", "qmix"),
                                          ("diql", "iql"), ("ddn", "vdn"), ("dmix", "qmix")])
def test_the_epymarl_presets_carry_the_papers_lbf_rows(method, base):
    from genarena.config import load_config
    cfg = load_config(f"marl-lbf-10x10-3p-3f-{method}-paper")
    m = cfg.marl
    hidden, lr, test_epsilon, anneal, (kind, target) = EPYMARL_LBF[base]
    assert (m.method, m.task, m.hidden, m.lr, m.test_epsilon, m.epsilon_decay) == \
        (method, "lbf-10x10-3p-3f-paper", hidden, lr, test_epsilon, anneal)
    assert (m.target_tau == target) if kind == "soft" else (m.target_tau == 0 and
                                                           m.target_update == target)
    assert m.reward_standardise and not m.reward_scaling and not m.last_action
    assert m.raw_observations                     # EPyMARL feeds LBF's observations unscaled
    assert m.time_limit_terminal                  # its gym wrapper reports no episode_limit
    assert (m.replay, m.batch, m.gamma, m.epsilon_end, m.test_episodes) == (5000, 32, 0.99, 0.05, 100)
    assert cfg.steps == 2_000_000 and cfg.steps // cfg.eval.interval == 40


def test_the_step_0_test_is_measured_after_the_fact_exactly():
    """initial_test_return reads what a test at step 0 would have: the untrained learner's
    weights and the tests' draws depend on the run's seed only, not on what ran before."""
    over = {"marl.test_episodes": 4, "marl.envs": 4, "marl.hidden": 16}
    cfg = load_config("marl-lbf-10x10-3p-3f-iql-paper", over)
    torch.manual_seed(123)
    first = MARLTrainer(cfg, None, torch.device("cpu"))
    torch.manual_seed(7)
    torch.rand(10)
    again = MARLTrainer(cfg, None, torch.device("cpu"))
    for a, b in zip(first.learner.online.parameters(), again.learner.online.parameters()):
        assert torch.equal(a, b)
    at_start = first.test_episodes(cfg.marl.test_epsilon)["test_return"]
    assert initial_test_return(cfg) == at_start
    first.close()
    again.close()
