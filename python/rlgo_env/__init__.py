"""rlgo_env: serve Gymnasium-style environments to rlgo over its env protocol.

The protocol (service ``rlgo.env.v1.Env`` over gRPC, msgpack messages, no
.proto) is described in docs/external-envs.md and in the Go package
envs/external, its other implementation. This package needs only grpcio,
msgpack and numpy (Debian: python3-grpcio, python3-msgpack, python3-numpy);
gymnasium is imported only to serve an id with ``--env``.

    python3 -m rlgo_env serve --env CartPole-v1 --num-envs 8
    python3 -m rlgo_env serve --entry mymodule:MyEnv --socket /tmp/env.sock
"""

from .protocol import (
    PROTOCOL_VERSION,
    SERVICE,
    ProtocolError,
    SpaceError,
    map_action_space,
    map_observation_space,
)
from .vector import TimeLimit, VectorServer

__all__ = [
    "PROTOCOL_VERSION",
    "SERVICE",
    "ProtocolError",
    "SpaceError",
    "TimeLimit",
    "VectorServer",
    "map_action_space",
    "map_observation_space",
]
