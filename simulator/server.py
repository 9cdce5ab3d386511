"""HTTP front of the simulator: routing, fault injection and the ``/_simulator/`` controls."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import secrets
import socket
import ssl
import threading
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import methods
from .faults import FaultInjector
from .seed import seed as seed_state
from .state import SimulatorConfig, State
from .validation import DATE_FORMAT, ApiError

__all__ = ["SimulatorConfig", "SimulatorServer"]

_logger = logging.getLogger(__name__)

API_PREFIX = "/crmapi/rest/v2/"
CONTROL_PREFIX = "/_simulator/"
MAX_BODY = 16 * 1024 * 1024
# A connection kept open for more requests (HTTP/1.1 keep-alive) is closed after this long
# without one, as a real server's idle timeout does.
IDLE_SECONDS = 30.0
_OK_STATUS = {"code": "OK", "message": None, "description": None}

# json cannot print a Decimal as a number with its two decimals: a marked string stands in for it
# and is unquoted after encoding. The random marker cannot collide with request data.
_MARK = f"@@{secrets.token_hex(8)}@@"
_MARKED = re.compile(f'"{_MARK}(-?[0-9.]+)"')


def _json_default(value):
    if isinstance(value, Decimal):
        text = f"{value:.2f}" if value.as_tuple().exponent >= -2 else format(value, "f")
        return f"{_MARK}{text}"
    if isinstance(value, datetime):
        return value.strftime(DATE_FORMAT)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_json(payload) -> bytes:
    text = json.dumps(payload, default=_json_default, ensure_ascii=False)
    return _MARKED.sub(r"\1", text).encode()


def error_envelope(err: ApiError) -> dict:
    status = {"code": err.code, "message": err.message, "description": err.description or ""}
    return {"status": status, "data": None}


class SimulatorServer:
    """A CRM.COM Web API test double listening on ``host:port`` (port 0 = any free port)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: bool = True,
        config: SimulatorConfig | None = None,
        currency: str = "EUR",
        *,
        tls: bool = False,
        latency: float = 0.0,
    ) -> None:
        """``tls``: serve HTTPS with a self-signed certificate made now (its PEM file is
        ``ca_file``, what a client trusts); ``latency``: seconds added to every API call, as
        the network and work of a remote CRM.COM would (faults add to it)."""
        if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
            raise ValueError("currency must be an ISO 4217 code such as EUR")
        if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
            raise ValueError("latency must be a non-negative number of seconds")
        self.latency = float(latency)
        self.config = config if config is not None else SimulatorConfig()
        self._initial_config = SimulatorConfig(**self.config.as_dict())
        self.currency = currency
        self.state = State(currency)
        self.faults = FaultInjector()
        # API requests received per method, answered or not: what reached this server.
        self.received = Counter()
        self._received_lock = threading.Lock()
        # TCP connections accepted since the start (or the last reset): with keep-alive, what
        # tells whether a client reuses its connections.
        self.connections_accepted = 0
        if seed:
            seed_state(self.state)
        self.tls = None
        if tls:
            from .tls import SelfSignedIdentity  # cryptography only when asked for

            self.tls = SelfSignedIdentity()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sim = self
        self._httpd.ssl_context = self.tls.server_context() if self.tls else None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    @property
    def ca_file(self) -> str | None:
        """The PEM file of the certificate a client trusts to talk to this HTTPS server."""
        return self.tls.ca_file if self.tls else None

    def start(self) -> SimulatorServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="crmcom-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
        # Connections kept open for more requests end with the server, as a real one's do.
        self._httpd.close_connections()
        if self.tls:
            self.tls.close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def expire_tokens(self) -> int:
        return self.state.expire_tokens()

    def reset(self, seed: bool = True) -> None:
        """Wipe the store and the faults, and restore the configuration given at start-up."""
        self.faults.clear()
        with self._received_lock:
            self.received.clear()
            self.connections_accepted = 0
        with self.state.lock:
            self.state.clear(self.currency)
            self.config.copy_from(self._initial_config)
            if seed:
                seed_state(self.state)

    def snapshot(self) -> dict:
        with self.state.lock:
            dump = methods.snapshot(self.state, self.config)
            dump["config"] = self.config.as_dict()
        dump["faults"] = self.faults.active()
        with self._received_lock:
            dump["received"] = dict(self.received)
            dump["connections_accepted"] = self.connections_accepted
        dump["latency"] = self.latency
        return dump

    def count_request(self, name: str) -> None:
        with self._received_lock:
            self.received[name] += 1

    def count_connection(self) -> None:
        with self._received_lock:
            self.connections_accepted += 1

    def process(self, path: str, raw_body: bytes, headers) -> tuple[int, dict]:
        """Run one API call: (HTTP status, response envelope)."""
        try:
            with self.state.lock:
                data = methods.dispatch(self.state, self.config, path, raw_body, headers)
        except ApiError as err:
            return self.error_reply(err)
        return 200, {"status": _OK_STATUS, "data": data}

    def error_reply(self, err: ApiError) -> tuple[int, dict]:
        return err.http_status or self.config.error_http_status, error_envelope(err)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    sim: SimulatorServer
    ssl_context: ssl.SSLContext | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._open = set()
        self._open_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        self.sim.count_connection()
        # A reply is written in two pieces (head, body): without this, on a kept-alive
        # connection the body waits for the client's delayed acknowledgement of the head
        # (Nagle's algorithm), 40 ms on Linux.
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def finish_request(self, request, client_address) -> None:
        # In the connection's own thread: a slow TLS handshake never holds the accept loop.
        if self.ssl_context is not None:
            try:
                request.settimeout(IDLE_SECONDS)
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                _logger.info("TLS handshake with %s failed: %s", client_address, exc)
                return
        super().finish_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            open_now = list(self._open)
        for request in open_now:
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "CRMCOM-Simulator/1.0"
    # Keep-alive, as a real server: a client may reuse its connection (and TLS session) for
    # the next calls. Every reply has a Content-Length; faults that drop the connection close it.
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS  # of the socket: an idle kept-alive connection is closed

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format, *args) -> None:  # noqa: A002 - signature of the base class
        _logger.debug("%s - " + format, self.address_string(), *args)

    # -- plumbing --------------------------------------------------------------------------------

    def _handle(self) -> None:
        started = time.monotonic()
        path = urlsplit(self.path).path
        try:
            raw = self._read_body()
            if path.startswith(API_PREFIX):
                outcome = self._api(path.removeprefix(API_PREFIX), raw)
            elif path.startswith(CONTROL_PREFIX):
                outcome = self._control(path.removeprefix(CONTROL_PREFIX), raw)
            else:
                outcome = self._send(404, {"error": f"nothing at {path}"})
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            outcome = "client went away"
        except Exception:  # one bad request must never take the server down
            _logger.exception("simulator failure on %s %s", self.command, path)
            outcome = "500 simulator failure"
            with contextlib.suppress(OSError):
                self._send(500, {"error": "simulator failure, see its log"})
        elapsed = (time.monotonic() - started) * 1000
        _logger.info("%s %s -> %s (%.0f ms)", self.command, path, outcome, elapsed)

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(min(max(length, 0), MAX_BODY)) if length else b""

    def _send(
        self, status: int, payload, content_type: str = "application/json", headers=None
    ) -> str:
        body = payload if isinstance(payload, bytes) else encode_json(payload)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        if isinstance(payload, dict) and isinstance(payload.get("status"), dict):
            return f"{status} {payload['status']['code']}"
        return str(status)

    # -- API -------------------------------------------------------------------------------------

    def _api(self, name: str, raw: bytes) -> str:
        sim = self.server.sim
        sim.count_request(name)
        method = methods.METHODS.get(name)
        if method is None or self.command != "POST":
            err = ApiError("METHOD_NOT_FOUND", "Method not found", f"{self.command} {name}")
            return self._send(404 if method is None else 405, error_envelope(err))
        latency, fault = sim.faults.take(name, needs_token=method.needs_token)
        if sim.latency or latency is not None:
            time.sleep(sim.latency + (latency.seconds if latency is not None else 0.0))
        kind = fault.kind if fault else None
        note = f" [fault {kind}]" if kind else ""
        if kind in ("http_500", "http_500_envelope"):
            return self._server_error(fault) + " before processing" + note
        if kind == "http_429":
            return self._too_many(fault) + " before processing" + note
        if kind == "drop":
            self.close_connection = True
            return "dropped before processing" + note
        if kind == "expired_token":
            status, envelope = sim.error_reply(
                ApiError("INVALID_TOKEN", "Invalid token", "The token has expired")
            )
        else:
            status, envelope = sim.process(name, raw, self.headers)
        if kind == "drop_after":
            self.close_connection = True
            return f"processed ({envelope['status']['code']}), reply dropped" + note
        if kind == "timeout_after":
            time.sleep(fault.seconds)
        if kind in ("http_500_after", "http_500_envelope_after"):
            done = envelope["status"]["code"]
            return self._server_error(fault) + f" after processing ({done})" + note
        if kind == "http_429_after":
            done = envelope["status"]["code"]
            return self._too_many(fault) + f" after processing ({done})" + note
        if kind == "malformed_json":
            encoded = encode_json(envelope)
            return self._send(200, encoded[: len(encoded) // 2]) + note
        return self._send(status, envelope) + note

    def _too_many(self, fault) -> str:
        """HTTP 429 with an error envelope, and a Retry-After header when the fault has
        ``seconds`` (whole seconds: the header takes no fraction)."""
        err = ApiError("TOO_MANY_REQUESTS", "Too many requests", "Slow down.")
        headers = {} if fault.seconds is None else {"Retry-After": str(math.ceil(fault.seconds))}
        return self._send(429, error_envelope(err), headers=headers)

    def _server_error(self, fault) -> str:
        if "envelope" in fault.kind:
            err = ApiError("INTERNAL_ERROR", "Internal server error", "Try again later.")
            return self._send(fault.http_status, error_envelope(err))
        body = f"<html><body><h1>{fault.http_status} Server Error</h1></body></html>".encode()
        return self._send(fault.http_status, body, "text/html")

    # -- controls --------------------------------------------------------------------------------

    def _control(self, name: str, raw: bytes) -> str:
        sim = self.server.sim
        try:
            payload = json.loads(raw) if raw.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
            route = (self.command, name.strip("/"))
            if route == ("GET", "state"):
                return self._send(200, sim.snapshot())
            if route == ("POST", "reset"):
                seed = payload.get("seed", True)
                if not isinstance(seed, bool):
                    raise ValueError("seed must be a boolean")
                sim.reset(seed=seed)
                return self._send(200, {"reset": True, "seed": seed})
            if route == ("GET", "faults"):
                return self._send(200, {"faults": sim.faults.active()})
            if route == ("POST", "faults"):
                sim.faults.add(**payload)
                return self._send(200, {"faults": sim.faults.active()})
            if route == ("DELETE", "faults"):
                sim.faults.clear()
                return self._send(200, {"faults": []})
            if route == ("GET", "config"):
                return self._send(200, sim.config.as_dict())
            if route == ("POST", "config"):
                with sim.state.lock:
                    sim.config.update(payload)
                return self._send(200, sim.config.as_dict())
            if route == ("POST", "amend"):
                changes = payload.get("changes", {})
                if not isinstance(changes, dict):
                    raise ValueError("changes must be an object")
                return self._send(
                    200,
                    sim.state.amend_event(payload.get("kind"), payload.get("reference"), changes),
                )
            if route == ("POST", "expire_tokens"):
                return self._send(200, {"expired": sim.expire_tokens()})
        except (ValueError, TypeError) as err:  # TypeError: unexpected fault arguments
            return self._send(400, {"error": str(err)})
        return self._send(404, {"error": f"no control {self.command} {CONTROL_PREFIX}{name}"})
