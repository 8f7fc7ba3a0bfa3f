"""Small environments with known answers for testing agents: the drifting-accuracy balancing task
and the two-step cooperative matrix game."""
