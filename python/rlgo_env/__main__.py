"""python3 -m rlgo_env serve: serve envs to rlgo (see docs/external-envs.md)."""

import argparse
import importlib
import json
import os
import sys

from .protocol import SpaceError
from .server import NUM_ENVS_ENV, SOCKET_ENV, TOKEN_ENV, run
from .vector import TimeLimit, VectorServer


def _load_entry(entry):
    mod, sep, attr = entry.partition(":")
    if not sep or not mod or not attr:
        raise SystemExit("--entry %r: want module:Class" % entry)
    obj = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _factory(args, kwargs):
    """The env factory, the id, the time limit and the reward threshold."""
    if args.env:
        import gymnasium  # only for --env

        if args.max_episode_steps:
            kwargs = dict(kwargs, max_episode_steps=args.max_episode_steps)

        def make():
            return gymnasium.make(args.env, **kwargs)
        spec = gymnasium.spec(args.env)
        limit = args.max_episode_steps or spec.max_episode_steps or 0
        threshold = args.reward_threshold if args.reward_threshold is not None else spec.reward_threshold
        return make, args.id or args.env, limit, threshold
    cls = _load_entry(args.entry)
    limit = args.max_episode_steps or 0

    def make():
        env = cls(**kwargs)
        return TimeLimit(env, limit) if limit else env
    return make, args.id or args.entry, limit, args.reward_threshold


def _serve(args):
    try:
        kwargs = json.loads(args.kwargs) if args.kwargs else {}
    except json.JSONDecodeError as e:
        raise SystemExit("--kwargs: not JSON: %s" % e)
    if not isinstance(kwargs, dict):
        raise SystemExit("--kwargs: want a JSON object, got %s" % type(kwargs).__name__)
    num_envs = args.num_envs or int(os.environ.get(NUM_ENVS_ENV, "1"))
    if args.address:
        address = args.address
    else:
        sock = args.socket or os.environ.get(SOCKET_ENV)
        if not sock:
            raise SystemExit("give --socket PATH or --address HOST:PORT (or set %s)" % SOCKET_ENV)
        address = "unix:" + sock
    token = None
    if args.token_file:
        with open(args.token_file) as f:
            token = f.read().strip()
    elif not address.startswith("unix:"):
        token = os.environ.get(TOKEN_ENV) or None
    tls = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            raise SystemExit("--tls-cert and --tls-key go together")
        with open(args.tls_key, "rb") as k, open(args.tls_cert, "rb") as c:
            tls = (k.read(), c.read())
    make, env_id, limit, threshold = _factory(args, kwargs)
    try:
        vector = VectorServer(make, num_envs, env_id, limit, threshold)
    except SpaceError as e:
        raise SystemExit("rlgo_env: %s: %s" % (env_id, e))
    # Requests: N actions of at most the action size, and N seeds.
    max_bytes = 4 * num_envs * vector.actions.size + 9 * num_envs + 4096
    run(vector, address, max_bytes, token, tls, args.allow_plaintext)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m rlgo_env", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve N envs over the env protocol")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--env", help="a Gymnasium id (imports gymnasium)")
    src.add_argument("--entry", help="module:Class of an env with Gymnasium's API (no gymnasium needed)")
    s.add_argument("--kwargs", help="JSON object of keyword arguments for gymnasium.make or the class")
    s.add_argument("--num-envs", type=int, help="envs to serve (default $%s, else 1)" % NUM_ENVS_ENV)
    where = s.add_mutually_exclusive_group()
    where.add_argument("--socket", help="Unix socket path (default $%s)" % SOCKET_ENV)
    where.add_argument("--address", help="host:port to listen on (TCP)")
    s.add_argument("--max-episode-steps", type=int, help="time limit (default: the Gymnasium spec's; none for --entry)")
    s.add_argument("--reward-threshold", type=float, help="reported in Spec (default: the Gymnasium spec's)")
    s.add_argument("--id", help="the id reported in Spec (default: --env or --entry)")
    s.add_argument("--token-file", help="bearer token clients must send (default $%s for TCP)" % TOKEN_ENV)
    s.add_argument("--tls-cert", help="PEM certificate to serve TLS")
    s.add_argument("--tls-key", help="PEM key to serve TLS")
    s.add_argument("--allow-plaintext", action="store_true", help="plaintext beyond loopback (private networks)")
    args = p.parse_args(argv)
    if args.num_envs is not None and args.num_envs <= 0:
        p.error("--num-envs: want at least 1")
    _serve(args)


if __name__ == "__main__":
    sys.exit(main())
