"""CartPole-v1 in Python, following Gymnasium's
gymnasium/envs/classic_control/cartpole.py (v0.29/v1.0) step for step, with
no gymnasium import: the test env of the bridge.

rng="numpy" (default) is Gymnasium itself: reset(seed=s) draws from
np.random.default_rng(s) (what gymnasium.utils.seeding.np_random(s) makes:
Generator(PCG64(SeedSequence(s)))), and the physics calls math.cos and
math.sin and squares with **2. rng="go" swaps exactly those primitives for
rlgo's native CartPole's: envs.NewRNG(seed, 0) (Go's PCG), Go's math.Cos
and math.Sin and x*x, so that from the same seeds it gives the native
env's transitions bit for bit (tests of the bridge). The time limit of
CartPole-v1 (500 steps) is the server's: serve with --max-episode-steps 500.
"""

import math

import numpy as np

import gomath


class Discrete:
    """Gymnasium's Discrete(n), duck-typed: n, start, shape ()."""

    def __init__(self, n, start=0):
        self.n, self.start, self.shape, self.dtype = n, start, (), np.int64

    def contains(self, x):
        return isinstance(x, (int, np.integer)) and self.start <= int(x) < self.start + self.n

    def __repr__(self):
        return "Discrete(%d)" % self.n


class Box:
    """Gymnasium's Box, duck-typed: low, high, shape, dtype."""

    def __init__(self, low, high, dtype=np.float32):
        self.low, self.high = np.asarray(low, dtype=dtype), np.asarray(high, dtype=dtype)
        self.shape, self.dtype = self.low.shape, np.dtype(dtype)

    def __repr__(self):
        return "Box(%s, %s, %s, %s)" % (self.low, self.high, self.shape, self.dtype)


class CartPole:
    def __init__(self, rng="numpy"):
        if rng not in ("numpy", "go"):
            raise ValueError("rng=%r: want 'numpy' or 'go'" % rng)
        self.rng = rng
        if rng == "go":
            self.cos, self.sin, self.sq = gomath.go_cos, gomath.go_sin, lambda v: v * v
            self.np_random = gomath.GoRNG(0)  # NewCartPole's unseeded stream
        else:
            self.cos, self.sin, self.sq = math.cos, math.sin, lambda v: v**2
            self.np_random = np.random.default_rng()  # Gymnasium: unseeded until reset(seed=...)

        self.gravity = 9.8
        self.masscart = 1.0
        self.masspole = 0.1
        self.total_mass = self.masspole + self.masscart
        self.length = 0.5  # actually half the pole's length
        self.polemass_length = self.masspole * self.length
        self.force_mag = 10.0
        self.tau = 0.02  # seconds between state updates
        self.kinematics_integrator = "euler"

        # Angle at which to fail the episode
        self.theta_threshold_radians = 12 * 2 * math.pi / 360
        self.x_threshold = 2.4

        # Angle limit set to 2 * theta_threshold_radians so failing observation
        # is still within bounds.
        high = np.array(
            [
                self.x_threshold * 2,
                np.finfo(np.float32).max,
                self.theta_threshold_radians * 2,
                np.finfo(np.float32).max,
            ],
            dtype=np.float32,
        )

        self.action_space = Discrete(2)
        self.observation_space = Box(-high, high, dtype=np.float32)

        self.state = None

        self.steps_beyond_terminated = None

    def step(self, action):
        assert self.action_space.contains(action), f"{action!r} ({type(action)}) invalid"
        assert self.state is not None, "Call reset before using step method."
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta = self.cos(theta)
        sintheta = self.sin(theta)

        # For the interested reader:
        # https://coneural.org/florian/papers/05_cart_pole.pdf
        temp = (force + self.polemass_length * self.sq(theta_dot) * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * self.sq(costheta) / self.total_mass)
        )
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass

        if self.kinematics_integrator == "euler":
            x = x + self.tau * x_dot
            x_dot = x_dot + self.tau * xacc
            theta = theta + self.tau * theta_dot
            theta_dot = theta_dot + self.tau * thetaacc
        else:  # semi-implicit euler
            x_dot = x_dot + self.tau * xacc
            x = x + self.tau * x_dot
            theta_dot = theta_dot + self.tau * thetaacc
            theta = theta + self.tau * theta_dot

        self.state = (x, x_dot, theta, theta_dot)

        terminated = bool(
            x < -self.x_threshold
            or x > self.x_threshold
            or theta < -self.theta_threshold_radians
            or theta > self.theta_threshold_radians
        )

        if not terminated:
            reward = 1.0
        elif self.steps_beyond_terminated is None:
            # Pole just fell!
            self.steps_beyond_terminated = 0
            reward = 1.0
        else:
            self.steps_beyond_terminated += 1
            reward = 0.0

        return np.array(self.state, dtype=np.float32), reward, terminated, False, {}

    def reset(self, *, seed=None, options=None):
        # gymnasium.Env.reset(seed=seed): a seed replaces the generator.
        if seed is not None:
            self.np_random = gomath.GoRNG(seed) if self.rng == "go" else np.random.default_rng(seed)
        low, high = -0.05, 0.05
        self.state = self.np_random.uniform(low=low, high=high, size=(4,))
        self.steps_beyond_terminated = None
        return np.array(self.state, dtype=np.float32), {}

    def close(self):
        pass
