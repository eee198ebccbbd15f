"""Writes acrobot_gymnasium_steps.txt: transitions of Gymnasium's Acrobot-v1.

AcrobotEnv's step, _get_ob, _terminal and _dsdt and the module's wrap, bound
and rk4 below are gymnasium/envs/classic_control/acrobot.py (v1.0.0; v0.29.1
is the same) line for line, run on minnp, a pure-Python stand-in for the
NumPy 2 calls they make (see minnp.py), so CPython computes what Gymnasium
computes without NumPy. Only rendering, reset and the asserts are left out.

Each transition line is

    s <theta1 theta2 dtheta1 dtheta2> a <action> b <book|nips>
      n <next state> o <observation> r <reward> t <terminated>

(on one line), every float as float.hex(). The recorded calls at the top are
CPython's cos, sin and x**2 for every argument the steps used; the Go test
feeds them to its reference step to check the rest of its arithmetic bit for
bit. Run from this directory:  python3 gen_acrobot_steps.py
"""
import minnp as np
from minnp import cos, pi, sin


class AcrobotEnv:
    dt = 0.2

    LINK_LENGTH_1 = 1.0  # [m]
    LINK_LENGTH_2 = 1.0  # [m]
    LINK_MASS_1 = 1.0  #: [kg] mass of link 1
    LINK_MASS_2 = 1.0  #: [kg] mass of link 2
    LINK_COM_POS_1 = 0.5  #: [m] position of the center of mass of link 1
    LINK_COM_POS_2 = 0.5  #: [m] position of the center of mass of link 2
    LINK_MOI = 1.0  #: moments of inertia for both links

    MAX_VEL_1 = 4 * pi
    MAX_VEL_2 = 9 * pi

    AVAIL_TORQUE = [-1.0, 0.0, +1]

    torque_noise_max = 0.0

    #: use dynamics equations from the nips paper or the book
    book_or_nips = "book"

    def __init__(self):
        self.state = None

    def step(self, a):
        s = self.state
        torque = self.AVAIL_TORQUE[a]

        # Add noise to the force action
        if self.torque_noise_max > 0:
            torque += self.np_random.uniform(
                -self.torque_noise_max, self.torque_noise_max
            )

        # Now, augment the state with our force action so it can be passed to
        # _dsdt
        s_augmented = np.append(s, torque)

        ns = rk4(self._dsdt, s_augmented, [0, self.dt])

        ns[0] = wrap(ns[0], -pi, pi)
        ns[1] = wrap(ns[1], -pi, pi)
        ns[2] = bound(ns[2], -self.MAX_VEL_1, self.MAX_VEL_1)
        ns[3] = bound(ns[3], -self.MAX_VEL_2, self.MAX_VEL_2)
        self.state = ns
        terminated = self._terminal()
        reward = -1.0 if not terminated else 0.0

        # truncation=False as the time limit is handled by the `TimeLimit` wrapper added during `make`
        return self._get_ob(), reward, terminated, False, {}

    def _get_ob(self):
        s = self.state
        return np.array(
            [cos(s[0]), sin(s[0]), cos(s[1]), sin(s[1]), s[2], s[3]], dtype=np.float32
        )

    def _terminal(self):
        s = self.state
        return bool(-cos(s[0]) - cos(s[1] + s[0]) > 1.0)

    def _dsdt(self, s_augmented):
        m1 = self.LINK_MASS_1
        m2 = self.LINK_MASS_2
        l1 = self.LINK_LENGTH_1
        lc1 = self.LINK_COM_POS_1
        lc2 = self.LINK_COM_POS_2
        I1 = self.LINK_MOI
        I2 = self.LINK_MOI
        g = 9.8
        a = s_augmented[-1]
        s = s_augmented[:-1]
        theta1 = s[0]
        theta2 = s[1]
        dtheta1 = s[2]
        dtheta2 = s[3]
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos(theta2)) + I1 + I2
        d2 = m2 * (lc2**2 + l1 * lc2 * cos(theta2)) + I2
        phi2 = m2 * lc2 * g * cos(theta1 + theta2 - pi / 2.0)
        phi1 = (
            -m2 * l1 * lc2 * dtheta2**2 * sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * cos(theta1 - pi / 2)
            + phi2
        )
        if self.book_or_nips == "nips":
            # the following line is consistent with the description in the
            # paper
            ddtheta2 = (a + d2 / d1 * phi1 - phi2) / (m2 * lc2**2 + I2 - d2**2 / d1)
        else:
            # the following line is consistent with the java implementation and the
            # book
            ddtheta2 = (
                a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * sin(theta2) - phi2
            ) / (m2 * lc2**2 + I2 - d2**2 / d1)
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0


def wrap(x, m, M):
    diff = M - m
    while x > M:
        x = x - diff
    while x < m:
        x = x + diff
    return x


def bound(x, m, M=None):
    if M is None:
        M = m[1]
        m = m[0]
    # bound x between min (m) and Max (M)
    return min(max(x, m), M)


def rk4(derivs, y0, t):
    try:
        Ny = len(y0)
    except TypeError:
        yout = np.zeros((len(t),), np.float64)
    else:
        yout = np.zeros((len(t), Ny), np.float64)

    yout[0] = y0

    for i in np.arange(len(t) - 1):
        this = t[i]
        dt = t[i + 1] - this
        dt2 = dt / 2.0
        y0 = yout[i]

        k1 = np.asarray(derivs(y0))
        k2 = np.asarray(derivs(y0 + dt2 * k1))
        k3 = np.asarray(derivs(y0 + dt2 * k2))
        k4 = np.asarray(derivs(y0 + dt * k3))
        yout[i + 1] = y0 + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    # We only care about the final timestep and we cleave off action value which will be zero
    return yout[-1][:4]


# Placed states (the same list as acrobotPlacedStates in acrobot_test.go).
STATES = [
    (0.0, 0.0, 0.0, 0.0),
    (0.05, -0.03, 0.02, -0.08),
    (-0.0937, 0.0712, 0.0455, 0.0999),
    (1.0, -2.0, 3.0, -4.0),
    (3.1, 0.2, 5.0, 12.0),
    (-3.1, -0.3, -6.0, -20.0),
    (2.9, 3.0, 12.5, 28.0),
    (-2.5, 2.5, -12.5, -28.2),
    (3.0, 0.1, 0.0, 0.0),
    (3.14159, -3.14159, 1.0, -1.0),
    (0.7, 1.9, -9.0, 15.5),
    (-1.4, -2.2, 7.7, 25.0),
]
TRAJECTORY_STEPS = 120


def line(s, a, mode, ns, obs, reward, terminated):
    return " ".join(
        ["s", *np.hexes(s), "a", str(a), "b", mode, "n", *np.hexes(ns), "o", *np.hexes(obs),
         "r", float.hex(reward), "t", str(terminated).lower()]
    )


def transition(env, s, a):
    env.state = np.array(s)
    obs, reward, terminated, _, _ = env.step(a)
    return line(s, a, env.book_or_nips, env.state, obs, reward, terminated)


def main():
    env = AcrobotEnv()
    lines = []
    for mode in ("book", "nips"):
        env.book_or_nips = mode
        for s in STATES:
            for a in (0, 1, 2):
                lines.append(transition(env, s, a))
    # A trajectory: from STATES[1], actions 2,2,0,1,0,2,... for
    # TRAJECTORY_STEPS steps, one line per transition as above.
    env.book_or_nips = "book"
    s = STATES[1]
    for i in range(TRAJECTORY_STEPS):
        a = (2, 2, 0, 1, 0)[i % 5]
        lines.append(transition(env, s, a))
        s = tuple(float(x) for x in env.state)
    np.write_transcript(
        "acrobot_gymnasium_steps.txt",
        "Gymnasium Acrobot-v1 transitions, written by gen_acrobot_steps.py.",
        lines,
    )


if __name__ == "__main__":
    main()
