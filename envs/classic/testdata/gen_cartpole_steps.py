"""Writes cartpole_gymnasium_steps.txt: transitions of Gymnasium's CartPole-v1.

step() below is CartPoleEnv.step from gymnasium/envs/classic_control/cartpole.py
(v0.29.1 / v1.0), kept line for line except that numpy is not needed: the
physics only uses Python floats and the math module, so CPython computes
exactly what Gymnasium computes. Each output line is

    x x_dot theta theta_dot action cos(theta) sin(theta) -> x' x_dot' theta' theta_dot' terminated

with every float as float.hex(), so the Go test can read the exact bits.
cos(theta) and sin(theta) are CPython's (the platform libm's, correctly
rounded in practice); Go's math.Cos and math.Sin sometimes differ from them
in the last bit, so the Go test feeds these values to its reference step to
check the rest of the arithmetic bit for bit.
Run from this directory:  python3 gen_cartpole_steps.py
"""
import math


class CartPoleEnv:
    def __init__(self):
        self.gravity = 9.8
        self.masscart = 1.0
        self.masspole = 0.1
        self.total_mass = self.masspole + self.masscart
        self.length = 0.5  # actually half the pole's length
        self.polemass_length = self.masspole * self.length
        self.force_mag = 10.0
        self.tau = 0.02  # seconds between state updates
        self.kinematics_integrator = "euler"
        self.theta_threshold_radians = 12 * 2 * math.pi / 360
        self.x_threshold = 2.4
        self.state = None

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
        temp = (
            force + self.polemass_length * theta_dot**2 * sintheta
        ) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta**2 / self.total_mass)
        )
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = (x, x_dot, theta, theta_dot)
        terminated = bool(
            x < -self.x_threshold
            or x > self.x_threshold
            or theta < -self.theta_threshold_radians
            or theta > self.theta_threshold_radians
        )
        return terminated


# Placed states (the same list as placedStates in cartpole_test.go).
STATES = [
    (0.0, 0.0, 0.0, 0.0),
    (0.01, -0.02, 0.03, -0.04),
    (-0.0437, 0.0123, -0.0311, 0.0499),
    (1.5, 1.2, 0.15, -1.7),
    (-2.1, -1.9, -0.19, 2.3),
    (0.3, -3.7, 0.2, 3.1),
    (-0.7, 2.9, -0.205, -2.6),
    (2.39, 0.5, 0.01, 0.0),
    (0.0, 0.0, 0.2094, 1.0),
    (0.123456789, -0.987654321, 0.0555555, -0.3333333),
]

TRAJECTORY_STEPS = 60


def h(v):
    return float.hex(v)


def line(s, a, to, term):
    trig = (math.cos(s[2]), math.sin(s[2]))
    return " ".join([*map(h, s), str(a), *map(h, trig), "->", *map(h, to), str(term).lower()])


def main():
    env = CartPoleEnv()
    lines = [
        "# Gymnasium CartPole-v1 transitions, written by gen_cartpole_steps.py; do not edit.",
        "# theta_threshold_radians " + h(env.theta_threshold_radians),
    ]
    for s in STATES:
        for a in (0, 1):
            env.state = s
            term = env.step(a)
            lines.append(line(s, a, env.state, term))
    # A trajectory: from STATES[1], actions 0,1,1,0,... for TRAJECTORY_STEPS steps,
    # each transition on its own line like the single steps above.
    env.state = STATES[1]
    for i in range(TRAJECTORY_STEPS):
        a = (0, 1, 1, 0)[i % 4]
        s = env.state
        term = env.step(a)
        lines.append(line(s, a, env.state, term))
    with open("cartpole_gymnasium_steps.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
