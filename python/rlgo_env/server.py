"""gRPC glue: serve a VectorServer as service rlgo.env.v1.Env with msgpack
messages (grpc.method_handlers_generic_handler; no .proto)."""

import hmac
import ipaddress
import os
import signal
import socket
import struct
import sys
import threading
import traceback
from concurrent import futures

import grpc
import msgpack

from .protocol import MAX_ERROR_MESSAGE, SERVICE, ProtocolError

SOCKET_ENV = "RLGO_ENV_SOCKET"
NUM_ENVS_ENV = "RLGO_ENV_NUM_ENVS"
PARENT_PID_ENV = "RLGO_ENV_PARENT_PID"
TOKEN_ENV = "RLGO_TOKEN"


def _unpack(data):
    # msgpack >= 1.0 bounds every length by the buffer's size, and gRPC
    # bounds the buffer (grpc.max_receive_message_length).
    return msgpack.unpackb(data, raw=False, strict_map_key=True)


def _pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def _handler(method, lock):
    def handle(request, context):
        with lock:
            try:
                return method(request)
            except ProtocolError as e:
                context.abort(getattr(grpc.StatusCode, e.code), str(e))
            except Exception as e:  # a bug of the server itself
                traceback.print_exc()
                context.abort(grpc.StatusCode.INTERNAL, "%s: %s" % (type(e).__name__, e))
    return grpc.unary_unary_rpc_method_handler(handle, request_deserializer=_unpack, response_serializer=_pack)


def _stream_handler(method, lock):
    """StepStream: one reply per request, in order, on one stream the
    client keeps open. A failed step ends the stream with the status the
    unary Step would return."""
    def handle(requests, context):
        for request in requests:
            with lock:
                try:
                    reply = method(request)
                except ProtocolError as e:
                    context.abort(getattr(grpc.StatusCode, e.code), str(e))
                except Exception as e:  # a bug of the server itself
                    traceback.print_exc()
                    context.abort(grpc.StatusCode.INTERNAL, "%s: %s" % (type(e).__name__, e))
            yield reply
    return grpc.stream_stream_rpc_method_handler(handle, request_deserializer=_unpack, response_serializer=_pack)


class _TokenInterceptor(grpc.ServerInterceptor):
    """Refuses calls without the bearer token (compared in constant time)."""

    def __init__(self, token):
        self._want = ("Bearer " + token).encode()

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, details):
        got = dict(details.invocation_metadata).get("authorization", "")
        if hmac.compare_digest(got.encode(), self._want):
            return continuation(details)
        return self._deny


_LEN = struct.Struct("<I")


class StepSocket:
    """The step socket (capability step_socket): Step requests and replies
    as frames of a 4-byte little-endian length and the msgpack message on a
    plain Unix socket, one thread per connection. A request frame longer
    than max_message_bytes closes the connection. A failed step is answered
    {code, message} (a gRPC status code and its text) and the connection
    stays open. It exists for speed: no HTTP/2 framing and no hand-off to
    grpcio's thread pool per step."""

    def __init__(self, path, step, lock, max_message_bytes):
        self.path, self._step, self._lock, self._max = path, step, lock, max_message_bytes
        if os.path.exists(path):
            os.unlink(path)  # a stale socket of a killed server
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(path)
            self._sock.listen(4)
        except OSError:
            self._sock.close()
            raise
        self._closed = False
        threading.Thread(target=self._accept, name="rlgo-step-socket", daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), name="rlgo-step-conn", daemon=True).start()

    def _serve(self, conn):
        rf = conn.makefile("rb", buffering=1 << 16)
        try:
            while True:
                hdr = rf.read(4)
                if len(hdr) < 4:
                    return
                (n,) = _LEN.unpack(hdr)
                if n > self._max:
                    print("rlgo_env: step socket: request frame of %d bytes, more than %d: closing the connection"
                          % (n, self._max), file=sys.stderr, flush=True)
                    return
                body = rf.read(n)
                if len(body) < n:
                    return
                reply = _pack(self._answer(body))
                conn.sendall(_LEN.pack(len(reply)) + reply)
        except OSError:
            return
        finally:
            rf.close()
            conn.close()

    def _answer(self, body):
        try:
            request = _unpack(body)
        except Exception as e:
            return _error_reply("INVALID_ARGUMENT", "step socket: request is not msgpack: %s" % e)
        with self._lock:
            try:
                return self._step(request)
            except ProtocolError as e:
                return _error_reply(e.code, str(e))
            except Exception as e:  # a bug of the server itself
                traceback.print_exc()
                return _error_reply("INTERNAL", "%s: %s" % (type(e).__name__, e))

    def close(self):
        if not self._closed:
            self._closed = True
            self._sock.close()
            try:
                os.unlink(self.path)
            except OSError:
                pass


def _error_reply(code, message):
    return {"code": getattr(grpc.StatusCode, code).value[0], "message": message[:MAX_ERROR_MESSAGE]}


def is_local(address):
    """Whether address is a Unix socket or a loopback host:port."""
    if address.startswith("unix:"):
        return True
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(vector, address, max_message_bytes, token=None, tls=None, allow_plaintext=False):
    """A started gRPC server for vector on address ("unix:PATH" or
    host:port). Beyond loopback a token is required, and TLS (a
    (cert_pem, key_pem) pair) unless allow_plaintext."""
    if not is_local(address):
        if not token:
            raise SystemExit("listening on %s (not loopback) needs a token: set %s or --token-file" % (address, TOKEN_ENV))
        if tls is None and not allow_plaintext:
            raise SystemExit("listening on %s (not loopback) needs TLS (--tls-cert, --tls-key) or --allow-plaintext" % address)
    lock = threading.Lock()
    step_socket = None
    if address.startswith("unix:") and not address.startswith("unix-abstract:") and not token:
        path = address[len("unix:"):]
        if path.startswith("//"):
            path = path[2:]
        try:
            step_socket = StepSocket(path + ".step", vector.step, lock, max_message_bytes)
            vector.step_socket = step_socket.path
        except OSError as e:  # e.g. a path too long for a socket address
            print("rlgo_env: no step socket at %s.step (%s): clients step over StepStream" % (path, e),
                  file=sys.stderr, flush=True)
    handlers = {
        "Spec": _handler(vector.spec, lock),
        "Reset": _handler(vector.reset, lock),
        "Step": _handler(vector.step, lock),
        "Close": _handler(vector.close, lock),
        "StepStream": _stream_handler(vector.step, lock),
    }
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2),
        handlers=[grpc.method_handlers_generic_handler(SERVICE, handlers)],
        interceptors=[_TokenInterceptor(token)] if token else None,
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", -1),
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=8,
    )
    if tls is not None:
        creds = grpc.ssl_server_credentials([tls])
        port = server.add_secure_port(address, creds)
    else:
        port = server.add_insecure_port(address)
    if port == 0 and not address.startswith("unix:"):
        raise SystemExit("cannot listen on %s" % address)
    server.start()
    server.step_socket = step_socket
    return server


def run(vector, address, max_message_bytes, token=None, tls=None, allow_plaintext=False):
    """Serve until SIGTERM or SIGINT, or until the supervising process named
    by RLGO_ENV_PARENT_PID is gone; then close the envs."""
    server = make_server(vector, address, max_message_bytes, token, tls, allow_plaintext)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parent = os.environ.get(PARENT_PID_ENV)
    parent = int(parent) if parent and parent.isdigit() else None
    print("rlgo_env: serving %s (%d envs) on %s" % (vector.env_id, vector.n, address), file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        if parent is not None and os.getppid() != parent:
            print("rlgo_env: parent %d is gone: stopping" % parent, file=sys.stderr, flush=True)
            break
    server.stop(1).wait()
    if server.step_socket is not None:
        server.step_socket.close()
    vector.close({})
