"""Writes pendulum_gymnasium_steps.txt: transitions of Gymnasium's Pendulum-v1.

PendulumEnv.step and _get_obs and the module's angle_normalize below are
gymnasium/envs/classic_control/pendulum.py (v1.0.0; v0.29.1 is the same)
line for line, run on minnp, a pure-Python stand-in for the NumPy 2 calls
they make (see minnp.py), so CPython computes what Gymnasium computes
without NumPy. Only rendering and reset are left out. The state is float64;
the action is a float32 array, as the action space's, so under NumPy 2 the
torque u and the terms 3.0 / (m * l**2) * u and 0.001 * (u**2) are float32.

Each transition line is

    s <theta theta_dot> a <action> g <g>
      n <next state> o <observation> r <reward>

(on one line), every float as float.hex(). The recorded calls at the top are
CPython's cos, sin and x**2 for every argument the steps used. Run from this
directory:  python3 gen_pendulum_steps.py
"""
import minnp as np


class PendulumEnv:
    def __init__(self, g=10.0):
        self.max_speed = 8
        self.max_torque = 2.0
        self.dt = 0.05
        self.g = g
        self.m = 1.0
        self.l = 1.0

    def step(self, u):
        th, thdot = self.state  # th := theta

        g = self.g
        m = self.m
        l = self.l
        dt = self.dt

        u = np.clip(u, -self.max_torque, self.max_torque)[0]
        self.last_u = u  # for rendering
        costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)

        newthdot = thdot + (3 * g / (2 * l) * np.sin(th) + 3.0 / (m * l**2) * u) * dt
        newthdot = np.clip(newthdot, -self.max_speed, self.max_speed)
        newth = th + newthdot * dt

        self.state = np.array([newth, newthdot])

        # truncation=False as the time limit is handled by the `TimeLimit` wrapper added during `make`
        return self._get_obs(), -costs, False, False, {}

    def _get_obs(self):
        theta, thetadot = self.state
        return np.array([np.cos(theta), np.sin(theta), thetadot], dtype=np.float32)


def angle_normalize(x):
    return ((x + np.pi) % (2 * np.pi)) - np.pi


# Placed states (the same list as pendulumPlacedStates in pendulum_test.go).
STATES = [
    (0.0, 0.0),
    (3.14159, 0.0),
    (-3.14159, 0.5),
    (1.0, -1.0),
    (-0.3, 0.9),
    (2.5, 7.9),
    (-2.5, -7.95),
    (7.5, 3.0),
    (-10.0, -2.0),
    (0.1234567, 0.7654321),
    (3.1415926535897931, 8.0),
    (-1.5707963267948966, -8.0),
]
# Torques: inside [-2, 2], on its bounds, and beyond them (clipped).
ACTIONS = (-3.0, -2.0, -0.7, 0.0, 0.3333, 1.25, 2.0, 2.5)
GS = (10.0, 9.81)
TRAJECTORY_STEPS = 150


def line(s, a, g, ns, obs, reward):
    return " ".join(
        ["s", *np.hexes(s), "a", float.hex(float(a)), "g", float.hex(float(g)),
         "n", *np.hexes(ns), "o", *np.hexes(obs), "r", float.hex(reward)]
    )


def transition(env, s, a):
    env.state = np.array(s)
    action = np.array([a], dtype=np.float32)
    obs, reward, _, _, _ = env.step(action)
    return line(s, action[0], env.g, env.state, obs, reward)


def main():
    lines = []
    for g in GS:
        env = PendulumEnv(g=g)
        for s in STATES:
            for a in ACTIONS:
                lines.append(transition(env, s, a))
    # A trajectory: from STATES[3], torques 2.0, 1.1, -0.4, -2.7, 0.05, ...
    # for TRAJECTORY_STEPS steps, one line per transition as above.
    env = PendulumEnv()
    s = STATES[3]
    for i in range(TRAJECTORY_STEPS):
        a = (2.0, 1.1, -0.4, -2.7, 0.05)[i % 5]
        lines.append(transition(env, s, a))
        s = tuple(float(x) for x in env.state)
    np.write_transcript(
        "pendulum_gymnasium_steps.txt",
        "Gymnasium Pendulum-v1 transitions, written by gen_pendulum_steps.py.",
        lines,
    )


if __name__ == "__main__":
    main()
