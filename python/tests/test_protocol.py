"""Unit tests of rlgo_env: space mapping, refusals, encodings, the vector
server's semantics and the msgpack round trip. Run from the repository:
python3 -m unittest discover -s python/tests (with PYTHONPATH=python)."""

import os
import random
import socket
import struct
import sys
import tempfile
import unittest

import msgpack
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import gomath  # noqa: E402
from cartpole import Box, CartPole, Discrete  # noqa: E402
from rlgo_env import ProtocolError, SpaceError, TimeLimit, VectorServer, map_action_space, map_observation_space  # noqa: E402
from rlgo_env.protocol import add_infos  # noqa: E402
from rlgo_env.server import _pack, _unpack, is_local, make_server  # noqa: E402


class MultiDiscrete:
    def __init__(self, nvec):
        self.nvec, self.shape = np.array(nvec), (len(nvec),)

    def __repr__(self):
        return "MultiDiscrete(%s)" % list(self.nvec)


class Dict:
    def __init__(self, spaces):
        self.spaces = spaces

    def __repr__(self):
        return "Dict(%r)" % self.spaces


class Tuple:
    def __init__(self, spaces):
        self.spaces = spaces

    def __repr__(self):
        return "Tuple(%r)" % (self.spaces,)


class MultiBinary:
    def __init__(self, n):
        self.n, self.shape = n, (n,)

    def __repr__(self):
        return "MultiBinary(%d)" % self.n


class TestSpaces(unittest.TestCase):
    def test_box(self):
        msg, dim = map_observation_space(Box([-1, -2, -3, -4, -5, -6], [1, 2, 3, 4, 5, 6]))
        self.assertEqual(dim, 6)
        self.assertEqual(msg["kind"], "box")
        self.assertEqual(msg["shape"], [6])
        np.testing.assert_array_equal(np.frombuffer(msg["low"], "<f4"), [-1, -2, -3, -4, -5, -6])

    def test_image_box_and_scalar_bounds(self):
        class Img:
            low, high, shape, dtype = 0, 255, (2, 3, 4), np.uint8
        msg, dim = map_observation_space(Img())
        self.assertEqual((msg["shape"], dim), ([2, 3, 4], 24))
        self.assertEqual(len(msg["high"]), 96)

    def test_infinite_bounds_travel(self):
        msg, _ = map_observation_space(Box([-np.inf], [np.inf]))
        self.assertTrue(np.isinf(np.frombuffer(msg["low"], "<f4")).all())

    def test_discrete_action_with_start(self):
        c = map_action_space(Discrete(3, start=-1))
        self.assertEqual(c.message, {"kind": "discrete", "n": 3})
        self.assertEqual(c.decode(np.array([0, 2], "<i4").tobytes(), 2), [-1, 1])

    def test_box_action(self):
        c = map_action_space(Box([-2, -2], [2, 2], dtype=np.float64))
        acts = c.decode(np.array([[0.5, -1], [1, 2]], "<f4").tobytes(), 2)
        self.assertEqual(acts[1].dtype, np.float64)
        np.testing.assert_array_equal(acts[0], [0.5, -1])

    def test_refusals_name_the_space(self):
        cases = [
            (map_action_space, MultiDiscrete([3, 3]), "action space MultiDiscrete"),
            (map_observation_space, Dict({"a": Box([0], [1])}), "observation space Dict"),
            (map_observation_space, Tuple((Box([0], [1]),)), "observation space Tuple"),
            (map_observation_space, MultiBinary(4), "observation space MultiBinary"),
            (map_observation_space, Discrete(5), "observation space Discrete"),
            (map_action_space, Box([0], [9], dtype=np.int64), "float dtype"),
            (map_action_space, object(), "neither a Box nor a Discrete"),
        ]
        for fn, space, want in cases:
            with self.subTest(space=space):
                with self.assertRaises(SpaceError) as cm:
                    fn(space)
                self.assertIn(want, str(cm.exception))

    def test_bad_actions(self):
        c = map_action_space(Discrete(2))
        for payload, want in [(b"\x00" * 4, "4 bytes, want 8"), (np.array([0, 2], "<i4").tobytes(), "env 1: discrete action 2"),
                              (np.array([-1, 0], "<i4").tobytes(), "env 0"), ("str", "must be a bin")]:
            with self.subTest(want=want):
                with self.assertRaises(ProtocolError) as cm:
                    c.decode(payload, 2)
                self.assertIn(want, str(cm.exception))
                self.assertEqual(cm.exception.code, "INVALID_ARGUMENT")


class TestInfos(unittest.TestCase):
    def test_numeric_and_nested(self):
        infos = {}
        add_infos(infos, 1, 3, {"score": np.float32(2.5), "flag": True, "name": "x", "arr": np.arange(3),
                                "one": np.array([7]), "_mask": True, "episode": {"r": np.array([10.0]), "l": 5, "t": 0.1}})
        self.assertEqual(infos["score"], [None, 2.5, None])
        self.assertEqual(infos["flag"][1], 1.0)
        self.assertEqual(infos["one"][1], 7.0)
        self.assertEqual(infos["episode.r"][1], 10.0)
        self.assertEqual(infos["episode.l"][1], 5.0)
        for skipped in ("name", "arr", "_mask", "episode"):
            self.assertNotIn(skipped, infos)


class TestGoMath(unittest.TestCase):
    def test_pcg_matches_go(self):
        # Printed by Go 1.26: p := rand.NewPCG(1, 2); p.Uint64() three times.
        p = gomath.GoPCG(1, 2)
        self.assertEqual([p.uint64() for _ in range(3)],
                         [0xc4f5a58656eef510, 0x9dcec3ad077dec6c, 0xc8d04605312f8088])

    def test_trig_near_libm(self):
        rng = random.Random(1)
        for _ in range(1000):
            x = rng.uniform(-3, 3)
            self.assertAlmostEqual(gomath.go_sin(x), np.sin(x), delta=1e-15)
            self.assertAlmostEqual(gomath.go_cos(x), np.cos(x), delta=1e-15)


class TestCartPole(unittest.TestCase):
    def test_reset_is_gymnasium_seeding(self):
        # gymnasium.utils.seeding.np_random(s) is Generator(PCG64(SeedSequence(s))),
        # i.e. np.random.default_rng(s); CartPole draws uniform(-0.05, 0.05, (4,)).
        env = CartPole()
        obs, info = env.reset(seed=42)
        want = np.random.default_rng(42).uniform(low=-0.05, high=0.05, size=(4,)).astype(np.float32)
        np.testing.assert_array_equal(obs, want)
        self.assertEqual(obs.dtype, np.float32)
        self.assertEqual(info, {})

    def test_unseeded_reset_continues_the_stream(self):
        a, b = CartPole(), CartPole()
        a.reset(seed=3)
        b.reset(seed=3)
        np.testing.assert_array_equal(a.reset()[0], b.reset()[0])

    def test_termination_and_reward_after(self):
        env = CartPole()
        env.reset(seed=0)
        env.state = (0.0, 0.0, 0.2094, 2.0)
        _, r, term, trunc, _ = env.step(1)
        self.assertEqual((r, term, trunc), (1.0, True, False))
        _, r, term, _, _ = env.step(1)
        self.assertEqual((r, term), (0.0, True))

    def test_go_mode_first_draws(self):
        env = CartPole(rng="go")
        obs, _ = env.reset(seed=1)
        self.assertTrue(np.all(np.abs(obs) <= 0.05))


class Counter:
    """An env whose observation counts steps; ends after `length` steps."""

    def __init__(self, length=3, reward=1.0):
        self.observation_space = Box([0, 0], [100, 100])
        self.action_space = Discrete(2)
        self.length, self.reward, self.t, self.seed = length, reward, 0, 0

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.seed = seed
        self.t = 0
        return np.array([0, self.seed % 100], np.float32), {"reset": 1}

    def step(self, a):
        self.t += 1
        return np.array([self.t, a], np.float32), self.reward, self.t >= self.length, False, {"t": self.t}


class TestVectorServer(unittest.TestCase):
    def test_spec(self):
        v = VectorServer(Counter, 2, "Counter-v0", 10, 5.0)
        s = v.spec({"protocol": 1})
        self.assertEqual((s["protocol"], s["id"], s["num_envs"], s["max_episode_steps"], s["reward_threshold"]), (1, "Counter-v0", 2, 10, 5.0))
        self.assertEqual(s["action_space"], {"kind": "discrete", "n": 2})

    def test_auto_reset_semantics(self):
        v = VectorServer(lambda: Counter(length=2), 2, "Counter-v0")
        obs = np.frombuffer(v.reset({"seeds": [5, None]})["obs"], "<f4").reshape(2, 2)
        np.testing.assert_array_equal(obs, [[0, 5], [0, 0]])
        acts = np.array([1, 0], "<i4").tobytes()
        r1 = v.step({"actions": acts})
        self.assertEqual(r1["final_obs"], b"")
        np.testing.assert_array_equal(np.frombuffer(r1["obs"], "<f4"), [1, 1, 1, 0])
        r2 = v.step({"actions": acts})
        np.testing.assert_array_equal(np.frombuffer(r2["terminated"], "u1"), [1, 1])
        np.testing.assert_array_equal(np.frombuffer(r2["truncated"], "u1"), [0, 0])
        # final_obs: the ended episodes' last observations, in env order;
        # obs: the next episodes' first (auto-reset with seed=None).
        np.testing.assert_array_equal(np.frombuffer(r2["final_obs"], "<f4"), [2, 1, 2, 0])
        np.testing.assert_array_equal(np.frombuffer(r2["obs"], "<f4"), [0, 5, 0, 0])
        np.testing.assert_array_equal(np.frombuffer(r2["rewards"], "<f8"), [1, 1])
        self.assertEqual(r2["infos"]["t"], [2.0, 2.0])

    def test_time_limit(self):
        v = VectorServer(lambda: TimeLimit(Counter(length=100), 3), 1, "c")
        v.reset({"seeds": [0]})
        flags = [v.step({"actions": b"\x00" * 4})["truncated"] for _ in range(4)]
        self.assertEqual(flags, [b"\x00", b"\x00", b"\x01", b"\x00"])

    def test_errors(self):
        v = VectorServer(Counter, 2, "c")
        with self.assertRaises(ProtocolError) as cm:
            v.step({"actions": b"\x00" * 8})
        self.assertEqual(cm.exception.code, "FAILED_PRECONDITION")
        for req, want in [({"seeds": [1]}, "1 seeds for 2 envs"), ({"seeds": [1, -1]}, "seeds[1]"),
                          ({"seeds": "x"}, "field seeds"), ([], "want a map")]:
            with self.subTest(req=req):
                with self.assertRaises(ProtocolError) as cm:
                    v.reset(req)
                self.assertIn(want, str(cm.exception))

    def test_env_exception_names_env(self):
        class Bad(Counter):
            def step(self, a):
                raise RuntimeError("boom")
        v = VectorServer(Bad, 2, "c")
        v.reset({"seeds": [0, 1]})
        with self.assertRaises(ProtocolError) as cm:
            v.step({"actions": b"\x00" * 8})
        self.assertEqual(cm.exception.code, "INTERNAL")
        self.assertIn("env 0: step raised RuntimeError: boom", str(cm.exception))

    def test_non_finite_reward(self):
        v = VectorServer(lambda: Counter(reward=float("nan")), 1, "c")
        v.reset({"seeds": [0]})
        with self.assertRaises(ProtocolError) as cm:
            v.step({"actions": b"\x00" * 4})
        self.assertIn("reward", str(cm.exception))

    def test_close_then_reset_remakes(self):
        v = VectorServer(Counter, 1, "c")
        v.close({})
        self.assertIsNone(v.envs)
        v.reset({"seeds": [0]})
        self.assertEqual(len(v.envs), 1)


class TestCodec(unittest.TestCase):
    def test_round_trip(self):
        msg = {"obs": np.arange(6, dtype="<f4").tobytes(), "infos": {"a": [1.5, None]}, "seeds": [2**64 - 1, None]}
        self.assertEqual(_unpack(_pack(msg)), msg)

    def test_float_bins_are_little_endian(self):
        self.assertEqual(np.array([1.0], "<f4").tobytes(), b"\x00\x00\x80\x3f")

    def test_hostile_bytes_are_bounded(self):
        # An array32 declaring 2**32-1 elements must fail, not allocate.
        for b in [b"\xdd\xff\xff\xff\xff", b"\xc6\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff"]:
            with self.assertRaises(Exception):
                _unpack(b)
        rng = random.Random(7)
        v = VectorServer(Counter, 2, "c")
        v.reset({"seeds": [0, 1]})
        for _ in range(2000):
            b = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            try:
                req = _unpack(b)
            except Exception:
                continue
            for call in (v.reset, v.step):
                try:
                    call(req)
                except ProtocolError:
                    pass
                v.did_reset = True

    def test_is_local(self):
        for addr, want in [("unix:/tmp/x.sock", True), ("127.0.0.1:5", True), ("[::1]:5", True), ("localhost:5", True),
                           ("0.0.0.0:5", False), ("10.0.0.1:5", False)]:
            self.assertEqual(is_local(addr), want, addr)


class TestStepSocket(unittest.TestCase):
    """The step socket (capability step_socket): frames of a 4-byte
    little-endian length and a msgpack message, served beside the gRPC
    socket with the same step and the same request bound."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.vector = VectorServer(Counter, 2, "Counter-v0")
        self.server = make_server(self.vector, "unix:" + os.path.join(self.dir.name, "env.sock"), max_message_bytes=1024)

    def tearDown(self):
        self.server.stop(0).wait()
        self.server.step_socket.close()
        self.dir.cleanup()

    def connect(self):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(10)
        c.connect(self.vector.step_socket)
        self.addCleanup(c.close)
        return c

    def exchange(self, c, msg):
        body = msg if isinstance(msg, bytes) else _pack(msg)
        c.sendall(struct.pack("<I", len(body)) + body)
        n = struct.unpack("<I", self.read(c, 4))[0]
        return _unpack(self.read(c, n))

    def read(self, c, n):
        b = b""
        while len(b) < n:
            chunk = c.recv(n - len(b))
            if not chunk:
                raise EOFError("closed after %d of %d bytes" % (len(b), n))
            b += chunk
        return b

    def test_spec_lists_it(self):
        s = self.vector.spec({"protocol": 1})
        self.assertEqual(s["capabilities"], ["step_stream", "step_socket"])
        self.assertEqual(s["step_socket"], os.path.join(self.dir.name, "env.sock.step"))

    def test_steps_and_errors(self):
        c = self.connect()
        acts = {"actions": np.array([1, 0], "<i4").tobytes()}
        r = self.exchange(c, acts)
        self.assertEqual(r["code"], 9)  # FAILED_PRECONDITION: step before reset
        self.assertIn("step before reset", r["message"])
        self.vector.reset({"seeds": [0, 1]})
        r = self.exchange(c, acts)  # the connection stays open after an error
        self.assertNotIn("code", r)
        np.testing.assert_array_equal(np.frombuffer(r["obs"], "<f4"), [1, 1, 1, 0])
        r = self.exchange(c, {"actions": b"\x00"})
        self.assertEqual(r["code"], 3)  # INVALID_ARGUMENT
        self.assertIn("actions has 1 bytes", r["message"])
        r = self.exchange(c, b"\xc1")
        self.assertEqual(r["code"], 3)
        self.assertIn("not msgpack", r["message"])

    def test_path_too_long_for_a_step_socket(self):
        # gRPC listens on a 104-byte path; the step socket's would be 109,
        # beyond a socket address: the server serves without it.
        d = tempfile.mkdtemp(dir="/tmp")
        self.addCleanup(lambda: os.path.exists(d) and __import__("shutil").rmtree(d))
        path = os.path.join(d, "d" * (104 - len(d) - 1 - len(".sock")) + ".sock")
        v = VectorServer(Counter, 1, "Counter-v0")
        server = make_server(v, "unix:" + path, max_message_bytes=1024)
        self.addCleanup(lambda: server.stop(0).wait())
        self.assertIsNone(server.step_socket)
        self.assertEqual(v.spec({})["capabilities"], ["step_stream"])
        self.assertNotIn("step_socket", v.spec({}))

    def test_oversized_frame_closes(self):
        c = self.connect()
        c.sendall(struct.pack("<I", 1025))
        self.assertEqual(c.recv(1), b"")


if __name__ == "__main__":
    unittest.main()
