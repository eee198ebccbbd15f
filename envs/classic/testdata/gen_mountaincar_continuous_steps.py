"""Writes mountaincar_continuous_gymnasium_steps.txt: transitions of
Gymnasium's MountainCarContinuous-v0.

Continuous_MountainCarEnv.step below is
gymnasium/envs/classic_control/continuous_mountain_car.py (v1.0.0; v0.29.1
is the same) line for line, run on minnp, a pure-Python stand-in for the
NumPy 2 calls it makes (see minnp.py), so CPython computes what Gymnasium
computes without NumPy. Only rendering and reset are left out.

Its state is a float64 array after reset and a float32 array after a step,
and under NumPy 2 the arithmetic differs between the two, so each line
gives the dtype of the state it starts from:

    s <position velocity> d <f32|f64> a <action> g <goal_velocity>
      n <next state> o <observation> r <reward> t <terminated>

(on one line), every float as float.hex(); the action is a float32, as
the action space's. The recorded calls at the top are CPython's math.cos
for every argument the steps used. Run from this directory:
python3 gen_mountaincar_continuous_steps.py
"""
import minnp as np
from minnp import logged_math as math


class Continuous_MountainCarEnv:
    def __init__(self, goal_velocity=0):
        self.min_action = -1.0
        self.max_action = 1.0
        self.min_position = -1.2
        self.max_position = 0.6
        self.max_speed = 0.07
        self.goal_position = (
            0.45  # was 0.5 in gymnasium, 0.45 in Arnaud de Broissia's version
        )
        self.goal_velocity = goal_velocity
        self.power = 0.0015

    def step(self, action: np.ndarray):
        position = self.state[0]
        velocity = self.state[1]
        force = min(max(action[0], self.min_action), self.max_action)

        velocity += force * self.power - 0.0025 * math.cos(3 * position)
        if velocity > self.max_speed:
            velocity = self.max_speed
        if velocity < -self.max_speed:
            velocity = -self.max_speed
        position += velocity
        if position > self.max_position:
            position = self.max_position
        if position < self.min_position:
            position = self.min_position
        if position == self.min_position and velocity < 0:
            velocity = 0

        # Convert a possible numpy bool to a Python bool.
        terminated = bool(
            position >= self.goal_position and velocity >= self.goal_velocity
        )

        reward = 0
        if terminated:
            reward = 100.0
        reward -= math.pow(action[0], 2) * 0.1

        self.state = np.array([position, velocity], dtype=np.float32)

        # truncation=False as the time limit is handled by the `TimeLimit` wrapper added during `make`
        return self.state, reward, terminated, False, {}


# Placed states (the same list as mccPlacedStates in
# mountaincar_continuous_test.go), each as a float64 state (after reset) and
# as a float32 one (after a step).
STATES = [
    (-0.5, 0.0),
    (-0.523, 0.0041),
    (-0.4123456789, -0.0123456789),
    (-1.19, -0.02),
    (-1.2, 0.0),
    (-1.1999, -0.0699),
    (0.44, 0.02),
    (0.449, 0.0005),
    (0.4499999, 0.0),
    (0.55, 0.0695),
    (0.3, 0.0699),
    (-0.9, -0.0699),
    (0.1, -0.03),
]
# Actions: inside [-1, 1], on its bounds, and beyond them (clipped).
ACTIONS = (-2.0, -1.0, -0.3, 0.0, 0.001, 0.25, 1.0, 1.5)
GOAL_VELOCITIES = (0, 0.01)
TRAJECTORY_STEPS = 150


def line(s, dtype, a, gv, ns, obs, reward, terminated):
    return " ".join(
        ["s", *np.hexes(s), "d", dtype, "a", float.hex(float(a)), "g", float.hex(float(gv)),
         "n", *np.hexes(ns), "o", *np.hexes(obs), "r", float.hex(reward),
         "t", str(terminated).lower()]
    )


def transition(env, s, dtype, a):
    if dtype == "f32":
        env.state = np.array(s, dtype=np.float32)
        s = env.state
    else:
        env.state = np.array(s)
    action = np.array([a], dtype=np.float32)
    obs, reward, terminated, _, _ = env.step(action)
    return line(s, dtype, action[0], env.goal_velocity, env.state, obs, reward, terminated)


def main():
    lines = []
    for gv in GOAL_VELOCITIES:
        env = Continuous_MountainCarEnv(goal_velocity=gv)
        for dtype in ("f64", "f32"):
            for s in STATES:
                for a in ACTIONS:
                    lines.append(transition(env, s, dtype, a))
    # A trajectory: from STATES[1] as reset leaves it (float64), actions
    # 1.0, 0.6, -0.4, -1.3, 0.9, 1.7, ... for TRAJECTORY_STEPS steps, one line
    # per transition as above.
    env = Continuous_MountainCarEnv()
    s, dtype = STATES[1], "f64"
    for i in range(TRAJECTORY_STEPS):
        a = (1.0, 0.6, -0.4, -1.3, 0.9, 1.7)[i % 6]
        lines.append(transition(env, s, dtype, a))
        s, dtype = tuple(float(x) for x in env.state), "f32"
    np.write_transcript(
        "mountaincar_continuous_gymnasium_steps.txt",
        "Gymnasium MountainCarContinuous-v0 transitions, written by gen_mountaincar_continuous_steps.py.",
        lines,
    )


if __name__ == "__main__":
    main()
