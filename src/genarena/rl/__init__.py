"""Reinforcement learning pieces shared by the RL balancer (SPEC 4.6) and DFAC (SPEC 9):
replay, the (Double) DQN agent, and the IQN quantile network and loss."""
from genarena.rl.dqn import AgentSettings, DQNAgent
from genarena.rl.iqn import IQNNetwork, quantile_huber_loss
from genarena.rl.replay import ReplayBuffer

__all__ = ["AgentSettings", "DQNAgent", "IQNNetwork", "ReplayBuffer", "quantile_huber_loss"]
