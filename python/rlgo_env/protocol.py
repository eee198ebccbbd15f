"""The env protocol's constants, space mapping and array encodings.

Arrays travel as msgpack ``bin`` payloads of little-endian values, row-major,
env by env: ``f32`` (IEEE float32), ``f64`` (float64), ``i32`` (int32) and
``u8`` (one byte, 0 or 1). See docs/external-envs.md.
"""

import numpy as np

PROTOCOL_VERSION = 1
SERVICE = "rlgo.env.v1.Env"
# What this server serves beyond the four unary methods, listed in the Spec
# reply's "capabilities": "step_stream" is StepStream, Step as a
# bidirectional stream (one reply per request, in order) that a client keeps
# open across steps; "step_socket" is a plain Unix socket (path in the Spec
# reply's "step_socket") answering Step frames: a 4-byte little-endian length
# and the msgpack message, a failed step's reply being {code, message}.
CAP_STEP_STREAM = "step_stream"
CAP_STEP_SOCKET = "step_socket"
# The longest message of a failed step's reply on the step socket.
MAX_ERROR_MESSAGE = 8192

F32 = np.dtype("<f4")
F64 = np.dtype("<f8")
I32 = np.dtype("<i4")
U8 = np.dtype("u1")

# The most numeric info names one Step reply carries (the Go client's bound).
MAX_INFO_KEYS = 64


class ProtocolError(Exception):
    """A request the server refuses; code is a grpc.StatusCode name."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class SpaceError(ValueError):
    """A space the protocol cannot carry; the message names it."""


def _space_name(space):
    return "%s %r" % (type(space).__name__, space)


def _refuse(role, space, why):
    raise SpaceError(
        "%s space %s is not supported: %s" % (role, _space_name(space), why)
    )


def _is_discrete(space):
    shape = getattr(space, "shape", None)
    return hasattr(space, "n") and not hasattr(space, "nvec") and (shape is None or tuple(shape) == ())


def _is_box(space):
    return all(hasattr(space, a) for a in ("low", "high", "shape", "dtype"))


def _check_structured(role, space):
    name = type(space).__name__
    if hasattr(space, "nvec"):
        _refuse(role, space, "MultiDiscrete is not carried by the protocol (Box and Discrete only); "
                "split it into a Discrete of prod(nvec) actions in a wrapper")
    if name in ("Dict", "Tuple", "Sequence", "Graph", "OneOf") or hasattr(space, "spaces"):
        _refuse(role, space, "%s spaces are not carried by the protocol (Box and Discrete only); "
                "flatten it in the env, e.g. with gymnasium.wrappers.FlattenObservation" % name)
    if name in ("MultiBinary", "Text"):
        _refuse(role, space, "%s is not carried by the protocol (Box and Discrete only)" % name)


def box_message(space, role):
    """The wire form of a Box: kind, shape, low and high as f32 bins."""
    shape = tuple(int(d) for d in space.shape)
    if len(shape) == 0 or any(d <= 0 for d in shape):
        _refuse(role, space, "shape %r: want at least one positive dimension" % (shape,))
    low = np.broadcast_to(np.asarray(space.low, dtype=np.float64), shape).astype(F32).reshape(-1)
    high = np.broadcast_to(np.asarray(space.high, dtype=np.float64), shape).astype(F32).reshape(-1)
    if np.isnan(low).any() or np.isnan(high).any() or (low > high).any():
        _refuse(role, space, "bounds must be numbers with low <= high")
    return {"kind": "box", "shape": list(shape), "low": low.tobytes(), "high": high.tobytes()}


def map_observation_space(space):
    """Map an observation space (duck-typed: any object with Gymnasium's
    attributes) to (wire message, observation size). Observations must be a
    Box: they travel as float32, whatever the Box's dtype."""
    _check_structured("observation", space)
    if _is_box(space):
        msg = box_message(space, "observation")
        return msg, int(np.prod(msg["shape"]))
    if _is_discrete(space):
        _refuse("observation", space, "observations must be a Box; one-hot encode a Discrete "
                "observation in the env (or gymnasium.wrappers.FlattenObservation)")
    _refuse("observation", space, "it is neither a Box nor a Discrete")


class ActionCodec:
    """Decodes one Step request's actions for n envs of an action space."""

    def __init__(self, space):
        self.space = space
        if _is_discrete(space):
            self.discrete = True
            self.n = int(space.n)
            self.start = int(getattr(space, "start", 0))
            self.size = 1
            self.message = {"kind": "discrete", "n": self.n}
            if self.n <= 0:
                _refuse("action", space, "n must be positive")
            return
        if _is_box(space):
            self.discrete = False
            if not np.issubdtype(np.dtype(space.dtype), np.floating):
                _refuse("action", space, "a Box of actions must have a float dtype, not %s" % space.dtype)
            self.message = box_message(space, "action")
            self.shape = tuple(self.message["shape"])
            self.dtype = np.dtype(space.dtype)
            self.size = int(np.prod(self.shape))
            return
        _refuse("action", space, "it is neither a Box nor a Discrete")

    def decode(self, payload, n):
        """The n actions in payload, as the env's step takes them."""
        if not isinstance(payload, (bytes, bytearray)):
            raise ProtocolError("INVALID_ARGUMENT", "step: actions must be a bin, got %s" % type(payload).__name__)
        want = 4 * n * self.size
        if len(payload) != want:
            raise ProtocolError("INVALID_ARGUMENT", "step: actions has %d bytes, want %d (%d envs x %d x 4)"
                                % (len(payload), want, n, self.size))
        if self.discrete:
            a = np.frombuffer(payload, dtype=I32).tolist()
            if min(a) < 0 or max(a) >= self.n:
                i = next(i for i, x in enumerate(a) if x < 0 or x >= self.n)
                raise ProtocolError("INVALID_ARGUMENT", "step: env %d: discrete action %d not in [0, %d)" % (i, a[i], self.n))
            if self.start == 0:
                return a
            return [x + self.start for x in a]
        a = np.frombuffer(payload, dtype=F32).reshape((n,) + self.shape)
        return [a[i].astype(self.dtype) for i in range(n)]


def map_action_space(space):
    """Map an action space to its ActionCodec (Discrete or float Box)."""
    _check_structured("action", space)
    return ActionCodec(space)


def info_number(value):
    """A numeric info value as a float, or None when it is not one: bools,
    ints, floats, NumPy scalars and arrays of one element."""
    if isinstance(value, (bool, np.bool_)):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and (
            np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
        return float(value.reshape(-1)[0])
    return None


def add_infos(infos, i, n, info):
    """Add env i's numeric info values to infos (name -> list of n values,
    None where absent). Nested dicts are flattened one level with a dot
    (Gymnasium's info["episode"]["r"] becomes "episode.r"); names starting
    with "_" (Gymnasium's masks) and values that are not numbers are
    skipped."""
    if not info:
        return
    for key, value in info.items():
        if not isinstance(key, str) or key.startswith("_"):
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                if isinstance(sub, str) and not sub.startswith("_"):
                    _set_info(infos, key + "." + sub, i, n, info_number(v))
            continue
        _set_info(infos, key, i, n, info_number(value))


def _set_info(infos, name, i, n, x):
    if x is None:
        return
    vals = infos.get(name)
    if vals is None:
        if len(infos) >= MAX_INFO_KEYS:
            return
        vals = infos[name] = [None] * n
    vals[i] = x
