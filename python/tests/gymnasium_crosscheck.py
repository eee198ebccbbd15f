"""Cross-checks against a real Gymnasium: run by hand where one is importable
(Debian packages none; docs/external-envs.md, "Checked against real
Gymnasium", says how it was run and what it printed). Not a unittest
module: CI has no Gymnasium.

    PYTHONPATH=/path/to/Gymnasium:python:python/tests python3 python/tests/gymnasium_crosscheck.py

1. Real Gymnasium's CartPole-v1 and this directory's cartpole.py (rng
   "numpy"), each served by rlgo_env's VectorServer (the bridge's server
   side, auto-reset included), stepped in lockstep from the same seeds with
   the same random actions: every Reset and Step reply must be
   byte-identical. (Random actions end episodes early. Under a policy that
   balances the pole, Gymnasium 1.4's np.square and the test CartPole's
   **2, Gymnasium 1.0's, differ in the last bit after ~227,000 env steps:
   docs/external-envs.md.) (cartpole.py with rng "go" equals rlgo's native
   CartPole-v1 bit for bit: cmd/rltrain/cli's external test.)
2. Real Gymnasium's CartPoleEnv placed in each recorded state of
   envs/classic/testdata/cartpole_gymnasium_steps.txt (the transcript the
   native env is tested against) must step to the recorded next state and
   termination bit for bit.
"""

import os
import random
import sys

import msgpack
import numpy as np

import gymnasium as gym
from rlgo_env.vector import TimeLimit, VectorServer

import cartpole

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSCRIPT = os.path.join(HERE, "..", "..", "envs", "classic", "testdata", "cartpole_gymnasium_steps.txt")


def _pack(o):
    return msgpack.packb(o, use_bin_type=True)


def bridge_lockstep(num_envs=8, steps=20000, seed=7):
    real = VectorServer(lambda: gym.make("CartPole-v1"), num_envs, "CartPole-v1", 500)
    ours = VectorServer(lambda: TimeLimit(cartpole.CartPole(), 500), num_envs, "CartPole-v1", 500)
    seeds = {"seeds": list(range(1, num_envs + 1))}
    if _pack(real.reset(seeds)) != _pack(ours.reset(seeds)):
        raise SystemExit("reset replies differ")
    rnd = random.Random(seed)
    episodes = 0
    for t in range(steps):
        req = {"actions": b"".join(rnd.randrange(2).to_bytes(4, "little") for _ in range(num_envs))}
        a, b = real.step(req), ours.step(req)
        if _pack(a) != _pack(b):
            raise SystemExit("step %d: replies differ:\n%r\n%r" % (t, a, b))
        episodes += sum(a["terminated"]) + sum(a["truncated"])
    print("bridge lockstep: %d vector steps x %d envs, %d episodes, every reply byte-identical" % (steps, num_envs, episodes))


def transcript():
    env = gym.make("CartPole-v1").unwrapped
    env.reset(seed=0)
    n = 0
    for line in open(TRANSCRIPT):
        if line.startswith("#"):
            continue
        lhs, rhs = line.split("->")
        l, r = lhs.split(), rhs.split()
        env.state = np.array([float.fromhex(v) for v in l[:4]], dtype=np.float64)
        env.steps_beyond_terminated = None
        _, _, terminated, _, _ = env.step(int(l[4]))
        want = [float.fromhex(v) for v in r[:4]]
        if [float(v) for v in env.state] != want or bool(terminated) != (r[4] == "true"):
            raise SystemExit("transcript line differs: %s" % line.strip())
        n += 1
    print("transcript: %d recorded CartPole transitions, every one bit for bit" % n)


if __name__ == "__main__":
    print("gymnasium %s, numpy %s, python %s" % (gym.__version__, np.__version__, sys.version.split()[0]))
    bridge_lockstep()
    transcript()
