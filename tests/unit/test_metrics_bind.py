"""The metrics/health endpoint binds where the user says, loopback unless told otherwise."""

from __future__ import annotations

import urllib.request

import psutil
import pytest
from prometheus_client import CollectorRegistry, Counter

from latentwire.cli import build_parser
from streaming.metrics import serve_metrics


def _listening_ip(port: int) -> str:
    for conn in psutil.Process().net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
            return conn.laddr.ip
    raise AssertionError(f"nothing listens on port {port}")


@pytest.mark.parametrize(
    "argv",
    [
        ["produce", "--model", "m", "--topic", "t", "--data", "d"],
        ["consume", "--topic", "t", "--model", "m"],
        ["compress-bridge", "--model", "m", "--input-topic", "a", "--output-topic", "b"],
        ["decompress-bridge", "--input-topic", "a", "--output-topic", "b"],
    ],
    ids=lambda argv: argv[0],
)
def test_metrics_host_defaults_to_loopback(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LATENTWIRE_METRICS_HOST", raising=False)
    assert build_parser().parse_args(argv).metrics_host == "127.0.0.1"
    monkeypatch.setenv("LATENTWIRE_METRICS_HOST", "0.0.0.0")  # noqa: S104 - what the container sets
    assert build_parser().parse_args(argv).metrics_host == "0.0.0.0"  # noqa: S104
    assert build_parser().parse_args([*argv, "--metrics-host", "::1"]).metrics_host == "::1"


def test_endpoint_binds_to_the_chosen_address() -> None:
    registry = CollectorRegistry()
    Counter("latentwire_bind_probe_total", "probe", registry=registry).inc()
    port = serve_metrics(0, "127.0.0.1", registry=registry)
    assert _listening_ip(port) == "127.0.0.1"  # not 0.0.0.0: other hosts cannot reach it
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:  # noqa: S310
        assert b"latentwire_bind_probe_total 1.0" in resp.read()
    port = serve_metrics(0, "0.0.0.0", registry=registry)  # noqa: S104 - opting in to all interfaces
    assert _listening_ip(port) == "0.0.0.0"  # noqa: S104
