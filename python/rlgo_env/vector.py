"""VectorServer: N envs stepped in lock step with same-step auto-reset,
answering the protocol's four requests as plain dicts (no gRPC here)."""

import math
import traceback

import numpy as np

from .protocol import (
    CAP_STEP_SOCKET,
    CAP_STEP_STREAM,
    F32,
    F64,
    PROTOCOL_VERSION,
    ProtocolError,
    add_infos,
    map_action_space,
    map_observation_space,
)


class TimeLimit:
    """Gymnasium's TimeLimit for envs that do not import gymnasium: the
    step on which max_episode_steps steps have elapsed is truncated."""

    def __init__(self, env, max_episode_steps):
        self.env = env
        self.max_episode_steps = int(max_episode_steps)
        self.observation_space = env.observation_space
        self.action_space = env.action_space
        self._elapsed = None

    def reset(self, *, seed=None, options=None):
        self._elapsed = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._elapsed += 1
        if self._elapsed >= self.max_episode_steps:
            truncated = True
        return obs, reward, terminated, truncated, info

    def close(self):
        close = getattr(self.env, "close", None)
        if close is not None:
            close()


class VectorServer:
    """Serves num_envs envs made by make_env.

    Its semantics are rlgo's envs.VectorEnv's (Gymnasium 0.29's
    SyncVectorEnv): reset seeds env i with seeds[i]; step steps every env,
    and an env whose episode ended (terminated or truncated) is reset at
    once with reset(seed=None), its last observation going to final_obs.
    """

    def __init__(self, make_env, num_envs, env_id, max_episode_steps=0, reward_threshold=None):
        if num_envs <= 0:
            raise ValueError("num_envs = %d: want at least 1" % num_envs)
        self.make_env = make_env
        self.n = num_envs
        self.env_id = env_id
        self.max_episode_steps = int(max_episode_steps or 0)
        self.reward_threshold = None if reward_threshold is None else float(reward_threshold)
        self.envs = None
        self.did_reset = False
        # The step socket's path, set by the gRPC glue when it serves one.
        self.step_socket = None
        self._make()
        first = self.envs[0]
        self.obs_msg, self.dim = map_observation_space(first.observation_space)
        self.actions = map_action_space(first.action_space)

    def _make(self):
        envs = []
        try:
            for _ in range(self.n):
                envs.append(self.make_env())
        except Exception:
            for e in envs:
                _close(e)
            raise
        self.envs = envs
        self.did_reset = False

    def spec(self, request):
        caps = [CAP_STEP_STREAM]
        extra = {}
        if self.step_socket:
            caps.append(CAP_STEP_SOCKET)
            extra["step_socket"] = self.step_socket
        return {
            "protocol": PROTOCOL_VERSION,
            "id": self.env_id,
            "num_envs": self.n,
            "observation_space": self.obs_msg,
            "action_space": self.actions.message,
            "max_episode_steps": self.max_episode_steps,
            "reward_threshold": self.reward_threshold,
            "capabilities": caps,
            **extra,
        }

    def _flat(self, i, field, obs):
        x = np.asarray(obs, dtype=F32).reshape(-1)
        if x.size != self.dim:
            raise ProtocolError("INTERNAL", "env %s: env %d: %s has %d values, want %d"
                                % (self.env_id, i, field, x.size, self.dim))
        return x

    def reset(self, request):
        seeds = _field(request, "seeds", list)
        if len(seeds) != self.n:
            raise ProtocolError("INVALID_ARGUMENT", "reset: %d seeds for %d envs" % (len(seeds), self.n))
        for i, s in enumerate(seeds):
            if s is not None and (not isinstance(s, int) or isinstance(s, bool) or s < 0):
                raise ProtocolError("INVALID_ARGUMENT", "reset: seeds[%d] = %r: want a non-negative integer or nil" % (i, s))
        if self.envs is None:
            self._make()
        obs = np.empty((self.n, self.dim), dtype=F32)
        for i, env in enumerate(self.envs):
            o, _ = _call(i, "reset", env.reset, seed=seeds[i])
            obs[i] = self._flat(i, "observation", o)
        self.did_reset = True
        return {"obs": obs.tobytes()}

    def step(self, request):
        if self.envs is None or not self.did_reset:
            raise ProtocolError("FAILED_PRECONDITION", "step before reset")
        actions = self.actions.decode(_field(request, "actions", (bytes, bytearray)), self.n)
        n, shape = self.n, (self.dim,)
        # The hot loop of the bridge: plain lists and bytearrays, numpy
        # only where it pays (one observation block, one rewards array).
        obs = np.empty((n, self.dim), dtype=F32)
        rewards = [0.0] * n
        terminated = bytearray(n)
        truncated = bytearray(n)
        finals = []
        infos = {}
        i, what = -1, "step"
        try:
            for i, env in enumerate(self.envs):
                what = "step"
                o, r, te, tr, info = env.step(actions[i])
                rewards[i] = r
                if info:
                    add_infos(infos, i, n, info)
                if te or tr:
                    terminated[i], truncated[i] = (1 if te else 0), (1 if tr else 0)
                    finals.append(self._flat(i, "final observation", o))
                    what = "auto-reset"
                    o, _ = env.reset()
                if type(o) is np.ndarray and o.shape == shape:
                    obs[i] = o
                else:
                    obs[i] = self._flat(i, "observation", o)
            i, what = -1, "step"
            rew = np.array(rewards, dtype=F64)
            if not all(map(math.isfinite, rew.tolist())):
                i = next(i for i, x in enumerate(rew.tolist()) if not math.isfinite(x))
                raise ProtocolError("INTERNAL", "env %s: env %d: reward = %r: not finite" % (self.env_id, i, rewards[i]))
        except ProtocolError:
            # As envs.VectorEnv: after an env failed, the vector needs Reset.
            self.did_reset = False
            raise
        except Exception as e:
            self.did_reset = False
            if i < 0:
                raise
            tb = traceback.format_exc()
            raise ProtocolError("INTERNAL", "env %d: %s raised %s: %s\n%s" % (i, what, type(e).__name__, e, tb)) from e
        return {
            "obs": obs.tobytes(),
            "rewards": rew.tobytes(),
            "terminated": bytes(terminated),
            "truncated": bytes(truncated),
            "final_obs": b"".join(f.tobytes() for f in finals),
            "infos": infos,
        }

    def close(self, request):
        if self.envs is not None:
            for e in self.envs:
                _close(e)
            self.envs = None
        return {}


def _field(request, name, kind):
    if not isinstance(request, dict):
        raise ProtocolError("INVALID_ARGUMENT", "request is %s, want a map" % type(request).__name__)
    v = request.get(name)
    if not isinstance(v, kind):
        raise ProtocolError("INVALID_ARGUMENT", "field %s is %s" % (name, type(v).__name__))
    return v


def _call(i, what, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ProtocolError:
        raise
    except Exception as e:
        tb = traceback.format_exc()
        raise ProtocolError("INTERNAL", "env %d: %s raised %s: %s\n%s" % (i, what, type(e).__name__, e, tb)) from e


def _close(env):
    close = getattr(env, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            traceback.print_exc()
