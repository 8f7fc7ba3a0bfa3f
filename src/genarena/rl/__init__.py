"""Reinforcement learning pieces shared by the RL balancer (docs/mspg.md) and DFAC (docs/dfac.md).

Single agent: replay, the (Double) DQN agent and the IQN quantile network and loss.
Multi-agent: shared agent utilities, the mixers (VDN, QMIX, DDN, DMIX; IQL and DIQL without one),
episode replay, the `MultiAgentLearner` and episode loops. docs/dfac.md shows the API in use.
"""
from genarena.rl.dfac import MultiAgentLearner
from genarena.rl.dqn import DQNAgent
from genarena.rl.episodes import Episode, EpisodeReplay
from genarena.rl.iqn import IQNNetwork, quantile_huber_loss
from genarena.rl.learner import RLSettings
from genarena.rl.mixers import METHODS, DMixer, QMixer, SumMixer
from genarena.rl.replay import ReplayBuffer
from genarena.rl.rollout import run_episode, train

__all__ = ["DMixer", "DQNAgent", "Episode", "EpisodeReplay", "IQNNetwork",
           "RLSettings", "METHODS", "MultiAgentLearner", "QMixer", "ReplayBuffer", "SumMixer",
           "quantile_huber_loss", "run_episode", "train"]
