"""Writes mountaincar_gymnasium_steps.txt: transitions of Gymnasium's
MountainCar-v0.

MountainCarEnv.step below is gymnasium/envs/classic_control/mountain_car.py
(v1.0.0; v0.29.1 is the same) line for line, run on minnp, a pure-Python
stand-in for the NumPy 2 calls it makes (see minnp.py), so CPython computes
what Gymnasium computes without NumPy. Only rendering, reset and the assert
are left out. The state is float64 throughout: a tuple of np.float64.

Each transition line is

    s <position velocity> a <action> g <goal_velocity>
      n <next state> o <observation> r <reward> t <terminated>

(on one line), every float as float.hex(). The recorded calls at the top are
CPython's math.cos for every argument the steps used. Run from this
directory:  python3 gen_mountaincar_steps.py
"""
import minnp as np
from minnp import logged_math as math


class MountainCarEnv:
    def __init__(self, goal_velocity=0):
        self.min_position = -1.2
        self.max_position = 0.6
        self.max_speed = 0.07
        self.goal_position = 0.5
        self.goal_velocity = goal_velocity

        self.force = 0.001
        self.gravity = 0.0025

    def step(self, action: int):
        position, velocity = self.state
        velocity += (action - 1) * self.force + math.cos(3 * position) * (-self.gravity)
        velocity = np.clip(velocity, -self.max_speed, self.max_speed)
        position += velocity
        position = np.clip(position, self.min_position, self.max_position)
        if position == self.min_position and velocity < 0:
            velocity = 0

        terminated = bool(
            position >= self.goal_position and velocity >= self.goal_velocity
        )
        reward = -1.0

        self.state = (position, velocity)
        # truncation=False as the time limit is handled by the `TimeLimit` wrapper added during `make`
        return np.array(self.state, dtype=np.float32), reward, terminated, False, {}


# Placed states (the same list as mountainCarPlacedStates in mountaincar_test.go).
STATES = [
    (-0.5, 0.0),
    (-0.523, 0.0041),
    (-0.4123456789, -0.0123456789),
    (-1.19, -0.02),
    (-1.2, 0.0),
    (-1.2, -0.07),
    (-1.15, -0.069),
    (0.49, 0.02),
    (0.499, 0.0005),
    (0.45, 0.069),
    (0.58, 0.05),
    (0.3, 0.0699),
    (-0.9, -0.0699),
    (0.1, -0.03),
]
GOAL_VELOCITIES = (0, 0.025)
TRAJECTORY_STEPS = 150


def line(s, a, gv, ns, obs, reward, terminated):
    return " ".join(
        ["s", *np.hexes(s), "a", str(a), "g", float.hex(float(gv)), "n", *np.hexes(ns),
         "o", *np.hexes(obs), "r", float.hex(reward), "t", str(terminated).lower()]
    )


def transition(env, s, a):
    env.state = tuple(np.F64(x) for x in s)  # np.array([...])[i] are np.float64
    obs, reward, terminated, _, _ = env.step(a)
    return line(s, a, env.goal_velocity, env.state, obs, reward, terminated)


def main():
    lines = []
    for gv in GOAL_VELOCITIES:
        env = MountainCarEnv(goal_velocity=gv)
        for s in STATES:
            for a in (0, 1, 2):
                lines.append(transition(env, s, a))
    # A trajectory: from STATES[1], actions 2,2,2,0,0,1,... for
    # TRAJECTORY_STEPS steps, one line per transition as above.
    env = MountainCarEnv()
    s = STATES[1]
    for i in range(TRAJECTORY_STEPS):
        a = (2, 2, 2, 0, 0, 1)[i % 6]
        lines.append(transition(env, s, a))
        s = tuple(float(x) for x in env.state)
    np.write_transcript(
        "mountaincar_gymnasium_steps.txt",
        "Gymnasium MountainCar-v0 transitions, written by gen_mountaincar_steps.py.",
        lines,
    )


if __name__ == "__main__":
    main()
