#!/usr/bin/python3
"""Writes the golden files the Go tests of envs/minatar replay.

MinAtar is pure Python + NumPy. Get its source (v1.0.15, commit 4241f24 of
https://github.com/kenjyoung/MinAtar) anywhere outside this repository, e.g.

    git clone https://github.com/kenjyoung/MinAtar /tmp/MinAtar

and run, with Debian's python3 and python3-numpy (apt-get install -y
python3-numpy; no pip, no matplotlib needed: MinAtar only warns):

    /usr/bin/python3 envs/minatar/testdata/gen_transcripts.py /tmp/MinAtar envs/minatar/testdata

It writes

  numpy_draws.txt       NumPy legacy RandomState draws (seeding, random_sample,
                        randint) that rlgo's MT19937 port must reproduce;
  <game>.txt.gz         one transcript per game and option set (see GAMES).

A transcript is a text file, gzipped. Lines starting with '#' are comments,
the first one holding the options as key=value pairs. Then:

  R <seed> <obs>        reset: <seed> is an integer (a fresh
                        minatar.Environment(game, sticky, ramping), seeded
                        with seed(s) as rlgo maps s, then reset()) or '-'
                        (reset() of the current Environment: the random
                        stream and the last action carry on, as MinAtar's);
  S <a> <r> <t> <obs>   step: action index a in the env's action space (full
                        or minimal set), reward r, terminal t (0/1).

<obs> is Environment.state() (10 x 10 x C bool, row-major, channels last)
flattened, np.packbits'ed (big-endian bit order) and written as hex.

rlgo maps its uint64 seed s to NumPy as RandomState(s) for s < 2**32 and
RandomState([s & 0xffffffff, s >> 32]) (init_by_array) otherwise.

Actions come from a separate random.Random(seed): a mix of uniform random
actions and a per-game heuristic with a three-step safety look-ahead (on a
deep copy of the env), so that episodes last long enough to reach the
difficulty ramps, Seaquest surfacing and Space Invaders' new waves.
"""

import copy
import gzip
import os
import random
import sys

import numpy as np

if len(sys.argv) < 2:
    sys.exit(__doc__)
sys.path.insert(0, sys.argv[1])
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))

from minatar import Environment  # noqa: E402

# game, file name, options, episode seeds, total steps, action seed.
# 'seeds' lists the seeded resets; every other reset is reset() without a seed.
GAMES = [
    ("asterix", "asterix", dict(sticky=0.1, ramping=True, minimal=False), [1, 7, 2**32 + 5], 6000, 11),
    ("breakout", "breakout", dict(sticky=0.1, ramping=True, minimal=False), [1, 7, 2**40 + 3], 6000, 12),
    ("freeway", "freeway", dict(sticky=0.1, ramping=True, minimal=False), [1, 2**33 + 9], 8000, 13),
    ("seaquest", "seaquest", dict(sticky=0.1, ramping=True, minimal=False), [1, 7, 2**35 + 1], 8000, 14),
    ("space_invaders", "space_invaders", dict(sticky=0.1, ramping=True, minimal=False), [1, 7, 2**36 + 2], 6000, 15),
    # other options: no ramping, the minimal action set, another sticky probability
    ("asterix", "asterix_minimal_noramp", dict(sticky=0.25, ramping=False, minimal=True), [3], 1500, 21),
    ("breakout", "breakout_minimal_noramp", dict(sticky=0.0, ramping=False, minimal=True, eps=0.01, raw=0.0), [3], 3000, 22),
    ("freeway", "freeway_minimal_noramp", dict(sticky=0.25, ramping=False, minimal=True), [3], 2600, 23),
    ("seaquest", "seaquest_minimal_noramp", dict(sticky=0.25, ramping=False, minimal=True), [3], 1500, 24),
    ("space_invaders", "space_invaders_minimal_noramp", dict(sticky=0.0, ramping=False, minimal=True), [3], 1500, 25),
]

# probability of a uniform random action instead of the heuristic's
EPSILON = {"breakout": 0.1, "space_invaders": 0.05}

ACT = {c: i for i, c in enumerate(['n', 'l', 'u', 'r', 'd', 'f'])}


def random_state(seed):
    if seed < 2**32:
        return np.random.RandomState(seed)
    return np.random.RandomState([seed & 0xffffffff, seed >> 32])


def new_env(game, opts, seed):
    env = Environment(game, sticky_action_prob=opts["sticky"], difficulty_ramping=opts["ramping"])
    # Environment.seed(seed), with rlgo's mapping for seeds of 2**32 and above.
    env.random = random_state(seed)
    env.env.random = env.random
    env.reset()
    return env


def obs_hex(env):
    return np.packbits(env.state().reshape(-1).astype(np.uint8)).tobytes().hex()


def heuristic(game, g):
    """A preferred action (MinAtar's full set) from the game's internals."""
    if game == "asterix":
        golds = [e for e in g.entities if e is not None and e[3]]
        if golds:
            e = min(golds, key=lambda e: abs(e[1] - g.player_y) + abs(e[0] - g.player_x))
            if e[1] < g.player_y:
                return ACT['u']
            if e[1] > g.player_y:
                return ACT['d']
            return ACT['l'] if e[0] < g.player_x else ACT['r']
        return ACT['n']
    if game == "breakout":
        # follow the ball while it rises; when it falls, go to the column
        # where it will reach the bottom row
        x, y, d = g.ball_x, g.ball_y, g.ball_dir
        for _ in range(40 if d in (2, 3) else 0):
            nx, ny = x + (1 if d in (1, 2) else -1), y + (1 if d in (2, 3) else -1)
            if nx < 0 or nx > 9:
                nx, d = min(max(nx, 0), 9), [1, 0, 3, 2][d]
            if ny < 0:
                ny, d = 0, [3, 2, 1, 0][d]
            x, y = nx, ny
            if y == 9:
                break
        if g.pos < x:
            return ACT['r']
        if g.pos > x:
            return ACT['l']
        return ACT['n']
    if game == "freeway":
        return ACT['u']
    if game == "seaquest":
        if g.diver_count >= 6 or (g.diver_count > 0 and g.oxygen < 40):
            return ACT['u']
        if g.sub_y == 0:
            return ACT['d']
        for z in g.e_subs + g.e_fish:
            if z[1] == g.sub_y and ((z[0] > g.sub_x) == g.sub_or):
                return ACT['f']
        if g.divers:
            d = min(g.divers, key=lambda d: abs(d[1] - g.sub_y) + abs(d[0] - g.sub_x))
            if d[1] != g.sub_y:
                return ACT['u'] if d[1] < g.sub_y else ACT['d']
            return ACT['l'] if d[0] < g.sub_x else ACT['r']
        return ACT['n']
    if game == "space_invaders":
        if g.shot_timer == 0:  # fire when the shot will hit (the game has no randomness)
            sim = copy.deepcopy(g)
            r, t = sim.act(ACT['f'])
            for _ in range(9):
                if r or t:
                    break
                r, t = sim.act(ACT['n'])
            if r:
                return ACT['f']
        cols = [i for i in range(10) if g.alien_map[:, i].sum() > 0]
        if not cols:
            return ACT['n']
        c = min(cols, key=lambda i: abs(i - g.pos))
        if c == g.pos:
            return ACT['n']
        return ACT['l'] if c < g.pos else ACT['r']
    raise ValueError(game)


def choose(game, env, action_set, rng, eps, raw):
    """eps: probability of a random action; raw: probability that a random
    action skips the safety look-ahead."""
    if rng.random() < eps:
        if rng.random() < raw:
            return rng.randrange(len(action_set))
        want = action_set[rng.randrange(len(action_set))]
    else:
        want = heuristic(game, env.env)
    order = sorted(range(len(action_set)), key=lambda i: (action_set[i] != want, rng.random()))
    for i in order:  # the wanted action unless it dies within three steps
        sim = copy.deepcopy(env)
        sim.sticky_action_prob = 0.0
        for _ in range(3):
            _, t = sim.act(action_set[i])
            if t:
                break
        if not t:
            return i
    return order[0]


def transcript(game, name, opts, seeds, steps, action_seed):
    rng = random.Random(action_seed)
    lines = ["# game=%s sticky=%r ramping=%d minimal=%d\n" % (
        game, opts["sticky"], opts["ramping"], opts["minimal"])]
    seeds = list(seeds)
    env = None
    episodes, ret, returns, max_ramp, extra = 0, 0, [], 0, {}
    prev_bricks = 30
    n = 0
    while n < steps:
        # a seeded reset for the listed seeds (the first episode, then every
        # third episode while seeds remain), else reset() continuing the stream
        if env is None or (seeds and episodes % 3 == 0):
            s = seeds.pop(0)
            env = new_env(game, opts, s)
            lines.append("R %d %s\n" % (s, obs_hex(env)))
        else:
            env.reset()
            lines.append("R - %s\n" % obs_hex(env))
        action_set = env.minimal_action_set() if opts["minimal"] else list(range(6))
        ret = 0
        while n < steps:
            a = choose(game, env, action_set, rng, opts.get("eps", EPSILON.get(game, 0.3)), opts.get("raw", 0.5))
            r, t = env.act(action_set[a])
            n += 1
            ret += int(r)
            lines.append("S %d %d %d %s\n" % (a, int(r), int(t), obs_hex(env)))
            ramp = env.env.difficulty_ramp()
            if ramp is not None:
                max_ramp = max(max_ramp, ramp)
            if game == "breakout":
                bricks = env.env.brick_map.sum()
                if bricks == 30 and prev_bricks == 0:
                    extra["brick_refills"] = extra.get("brick_refills", 0) + 1
                prev_bricks = bricks
            if game == "seaquest" and env.env.diver_count < 0:
                extra["negative_diver_count_steps"] = extra.get("negative_diver_count_steps", 0) + 1
            if t:
                break
        episodes += 1
        returns.append(ret)
    path = os.path.join(OUT, name + ".txt.gz")
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write("".join(lines).encode())
    print("%-32s %5d steps %3d episodes, returns %s, max ramp %d %s -> %d bytes" % (
        name, steps, episodes, returns[:12], max_ramp, extra, os.path.getsize(path)))


def numpy_draws():
    """Golden draws of NumPy's legacy RandomState for the MT19937 port."""
    out = ["# NumPy %s RandomState draws; see gen_transcripts.py\n" % np.__version__]
    for seed in [0, 1, 42, 2**32 - 1]:
        r = np.random.RandomState(seed)
        out.append("seed %d uint32 %s\n" % (seed, " ".join(str(int(v)) for v in r.randint(0, 2**32, 8, dtype=np.uint64))))
    for key in [[5], [1, 2], [0xffffffff, 7, 3]]:
        r = np.random.RandomState(key)
        out.append("array %s uint32 %s\n" % (",".join(map(str, key)), " ".join(
            str(int(v)) for v in r.randint(0, 2**32, 8, dtype=np.uint64))))
    r = np.random.RandomState(7)
    out.append("seed 7 random %s\n" % " ".join(repr(float(r.rand())) for _ in range(1000)))
    r = np.random.RandomState(8)
    out.append("seed 8 rand8 %s\n" % " ".join(repr(float(v)) for v in r.rand(8)))
    for low, high in [(0, 1), (0, 2), (0, 3), (0, 7), (1, 9), (1, 6), (0, 100), (-5, 5), (0, 2**31 + 1)]:
        r = np.random.RandomState(low + 1000)
        out.append("seed %d randint %d %d %s\n" % (low + 1000, low, high, " ".join(
            str(int(r.randint(low, high))) for _ in range(200))))
    r = np.random.RandomState(9)
    out.append("seed 9 randint_size 1 6 %s\n" % " ".join(str(int(v)) for v in r.randint(1, 6, 8)))
    # interleaved draws, as the games make them
    r = np.random.RandomState(10)
    vals = []
    for i in range(300):
        vals.append(repr(float(r.rand())))
        vals.append(str(int(r.randint(1 + i % 7))))
    out.append("seed 10 mixed %s\n" % " ".join(vals))
    with open(os.path.join(OUT, "numpy_draws.txt"), "w") as f:
        f.write("".join(out))


if __name__ == "__main__":
    numpy_draws()
    for g in GAMES:
        transcript(*g)
