"""Trivial: an env that costs almost nothing to step, to measure the
bridge's own overhead (envs/external BenchmarkStep)."""

import numpy as np


class Box:
    def __init__(self, n):
        self.low, self.high = np.full(n, -1.0, np.float32), np.full(n, 1.0, np.float32)
        self.shape, self.dtype = (n,), np.dtype(np.float32)


class Discrete:
    def __init__(self, n):
        self.n, self.shape = n, ()


class Trivial:
    """Box(4) observations of zeros, Discrete(2), reward 1, episodes of 100 steps."""

    def __init__(self):
        self.observation_space, self.action_space = Box(4), Discrete(2)
        self.obs, self.t = np.zeros(4, np.float32), 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return self.obs, {}

    def step(self, action):
        self.t += 1
        return self.obs, 1.0, self.t >= 100, False, {}
