"""One HTTP port for a long-running process: ``/metrics``, ``/healthz`` and ``/readyz``.

::

    status = Health(stall_seconds=120)
    server = serve_health(status, port=9400)          # daemon thread; server.port is the bound port
    status.beat()                                     # the main loop calls this on every iteration
    status.set_check("model", True); status.set_check("broker", False, "no broker answered")

``/healthz`` (liveness) answers 200 while the main loop has beaten within ``stall_seconds``; a stuck
loop makes it 503 so an orchestrator restarts the process. ``/readyz`` (readiness) answers 200 only when
every named check passes. Both bodies are plain text naming what failed. ``/metrics`` is the Prometheus
exposition of ``registry``.
"""

from __future__ import annotations

import http.server
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder

__all__ = ["Health", "HealthServer", "serve_health"]

log = logging.getLogger(__name__)


class Health:
    """Liveness (a heartbeat) and readiness (named checks) of one process; thread-safe.

    Arguments:
        stall_seconds (float): seconds without a :meth:`beat` after which the process is not alive.
            Default: 120.0.
        clock (Callable[[], float]): the clock heartbeats are read from. Default: ``time.monotonic``.
    """

    def __init__(self, stall_seconds: float = 120.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_seconds = stall_seconds
        self._clock = clock
        self._beat = clock()
        self._checks: dict[str, tuple[bool, str]] = {}
        self._lock = threading.Lock()

    def beat(self) -> None:
        self._beat = self._clock()

    def set_check(self, name: str, ok: bool, detail: str = "") -> None:
        with self._lock:
            self._checks[name] = (bool(ok), detail)

    def alive(self) -> tuple[bool, str]:
        idle = self._clock() - self._beat
        if idle > self.stall_seconds:
            return False, f"main loop stalled for {idle:.0f} s (limit {self.stall_seconds:.0f} s)"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        with self._lock:
            checks = dict(self._checks)
        if not checks:
            return False, "starting"
        failed = [
            f"{name}: {detail or 'not ready'}" for name, (ok, detail) in sorted(checks.items()) if not ok
        ]
        return (not failed), ("ok" if not failed else "; ".join(failed))


class HealthServer(http.server.ThreadingHTTPServer):
    """Serves ``/metrics``, ``/healthz`` (liveness) and ``/readyz`` (readiness) on one port.

    Arguments:
        address (tuple[str, int]): host and port to listen on (port 0 picks a free one).
        health (Health): what ``/healthz`` and ``/readyz`` report.
        registry (CollectorRegistry): what ``/metrics`` exposes.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], health: Health, registry: CollectorRegistry) -> None:
        self.health = health
        self.registry = registry
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    server: HealthServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(200, encoder(self.server.registry), content_type)
        elif path in ("/healthz", "/livez"):
            ok, detail = self.server.health.alive()
            self._send(200 if ok else 503, (detail + "\n").encode(), "text/plain; charset=utf-8")
        elif path == "/readyz":
            ok, detail = self.server.health.ready()
            self._send(200 if ok else 503, (detail + "\n").encode(), "text/plain; charset=utf-8")
        else:
            self._send(404, b"not found: try /metrics, /healthz or /readyz\n", "text/plain; charset=utf-8")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        log.debug("%s " + format, self.address_string(), *args)


def serve_health(
    health: Health, port: int, host: str = "127.0.0.1", registry: CollectorRegistry | None = None
) -> HealthServer:
    """Serve the three endpoints in a daemon thread; ``server.port`` is the bound port (useful with 0)."""
    server = HealthServer((host, port), health, registry or REGISTRY)
    threading.Thread(target=server.serve_forever, name="latentwire-health", daemon=True).start()
    return server
