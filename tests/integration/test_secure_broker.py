"""A SASL_SSL broker (``latentwire broker start --secure``): produce and consume with credentials from the
environment, wrong credentials fail fast and clearly, and the password shows up nowhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.fault]

USER = "alice"
PASSWORD = "pw-Zq81-never-printed"
CLI = [sys.executable, "-m", "latentwire"]


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("LATENTWIRE_") or k == "LATENTWIRE_CACHE_DIR"
    }
    env.update(OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3", **extra)
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def secure_broker(
    tmp_path_factory: pytest.TempPathFactory, free_ports: Callable[[], tuple[int, int]]
) -> Iterator[tuple[str, Path, str]]:
    """``(bootstrap servers, CA file, output of 'broker start')`` of a broker started by the CLI."""
    port, controller = free_ports()
    directory = tmp_path_factory.mktemp("secure")
    where = ["--port", str(port), "--controller-port", str(controller), "--dir", str(directory)]
    env = _env(LATENTWIRE_SASL_PLAIN_USERNAME=USER, LATENTWIRE_SASL_PLAIN_PASSWORD=PASSWORD)
    started = _run(["broker", "start", "--secure", "--heap", "384m", "--timeout", "120", *where], env)
    try:
        assert started.returncode == 0, started.stderr
        yield f"127.0.0.1:{port}", directory / "tls" / "ca.pem", started.stdout + started.stderr
    finally:
        _run(["broker", "stop", *where], _env())
    assert PASSWORD not in (directory / "broker.log").read_text(errors="replace")


def _client_env(bootstrap: str, ca: Path, password: str = PASSWORD) -> dict[str, str]:
    return _env(
        LATENTWIRE_BOOTSTRAP_SERVERS=bootstrap,
        LATENTWIRE_SECURITY_PROTOCOL="SASL_SSL",
        LATENTWIRE_SASL_MECHANISM="PLAIN",
        LATENTWIRE_SASL_PLAIN_USERNAME=USER,
        LATENTWIRE_SASL_PLAIN_PASSWORD=password,
        LATENTWIRE_SSL_CAFILE=str(ca),
    )


def test_broker_files_keep_secrets_private(secure_broker: tuple[str, Path, str]) -> None:
    bootstrap, ca, output = secure_broker
    assert PASSWORD not in output and "SASL_SSL" in output and str(ca) in output
    directory = ca.parent.parent
    assert (directory / "server.properties").stat().st_mode & 0o077 == 0
    assert (directory / "tls" / "broker.pem").stat().st_mode & 0o077 == 0
    props = (directory / "server.properties").read_text()
    assert f"listeners=SASL_SSL://{bootstrap}" in props


def test_plaintext_clients_are_not_served(secure_broker: tuple[str, Path, str]) -> None:
    from streaming.broker import broker_reachable

    bootstrap, ca, _ = secure_broker
    assert not broker_reachable(bootstrap, timeout=3)
    security = dict(
        security_protocol="SASL_SSL", sasl_mechanism="PLAIN", sasl_plain_username=USER,
        sasl_plain_password=PASSWORD, ssl_cafile=str(ca),
    )  # fmt: skip
    assert broker_reachable(bootstrap, timeout=20, **security)


def _saved(path: Path, records: np.ndarray) -> Path:
    np.save(path, records)
    return path


def test_produce_and_consume_with_credentials_from_the_environment(
    secure_broker: tuple[str, Path, str], digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path
) -> None:
    bootstrap, ca, _ = secure_broker
    data = _saved(tmp_path / "digits.npy", digits[:500])
    topic = f"secure-{time.monotonic_ns()}"
    env = _client_env(bootstrap, ca)
    produced = _run(
        ["-v", "produce", "--model", str(digits_bundle_dir), "--data", str(data), "--topic", topic, "--json"],
        env,
    )
    assert produced.returncode == 0, produced.stderr
    assert json.loads(produced.stdout)["records"] == 500
    consumed = _run(
        ["-v", "consume", "--topic", topic, "--model", str(digits_bundle_dir), "--max-records", "500",
         "--idle-timeout", "30", "--json"],
        env,
    )  # fmt: skip
    assert consumed.returncode == 0, consumed.stderr
    report = json.loads(consumed.stdout)
    assert report["records"] == 500 and report["failed"] == 0
    for run in (produced, consumed):
        assert PASSWORD not in run.stdout + run.stderr


def test_wrong_password_fails_fast_and_says_so(
    secure_broker: tuple[str, Path, str], digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path
) -> None:
    bootstrap, ca, _ = secure_broker
    data = _saved(tmp_path / "digits.npy", digits[:10])
    wrong = "wrong-Pw-7731"
    for command in (
        ["produce", "--model", str(digits_bundle_dir), "--data", str(data), "--topic", "secure-wrong"],
        ["consume", "--topic", "secure-wrong", "--model", str(digits_bundle_dir), "--idle-timeout", "5"],
        [
            "-vv",
            "consume",
            "--topic",
            "secure-wrong",
            "--model",
            str(digits_bundle_dir),
            "--idle-timeout",
            "5",
        ],
    ):
        started = time.monotonic()
        result = _run(command, _client_env(bootstrap, ca, password=wrong), timeout=120)
        elapsed = time.monotonic() - started
        output = result.stdout + result.stderr
        print(
            f"{command[0]} {command[1]} with a wrong password: exit {result.returncode} after {elapsed:.1f} s"
        )
        assert result.returncode != 0
        assert "authentication failed" in result.stderr.lower(), result.stderr[-2000:]
        assert f"user {USER!r}" in result.stderr
        assert wrong not in output and PASSWORD not in output
        assert "Traceback" not in result.stderr
        assert elapsed < 30  # process start, TensorFlow import and the 8 s credential check at most


def test_help_never_shows_the_password(secure_broker: tuple[str, Path, str]) -> None:
    bootstrap, ca, _ = secure_broker
    env = _client_env(bootstrap, ca)
    for command in (["produce", "--help"], ["consume", "--help"], ["broker", "--help"]):
        result = _run(command, env, timeout=60)
        assert result.returncode == 0
        assert "LATENTWIRE_SASL_PLAIN_PASSWORD" in result.stdout
        assert PASSWORD not in result.stdout + result.stderr


def test_password_is_absent_from_errors_and_metrics(
    secure_broker: tuple[str, Path, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prometheus_client import REGISTRY, generate_latest

    from latentwire.cli import build_parser
    from latentwire.cli.kafka_options import kafka_config

    bootstrap, ca, _ = secure_broker
    for key, value in _client_env(bootstrap, ca, password="other-Pw-991").items():
        if key.startswith("LATENTWIRE_"):
            monkeypatch.setenv(key, value)
    args = build_parser().parse_args(["consume", "--topic", "x", "--model", "m"])
    assert "other-Pw-991" not in repr(vars(args)) and "other-Pw-991" not in str(args)
    with pytest.raises(Exception) as info:
        kafka_config(args).settings()
    assert "authentication failed" in str(info.value)
    assert "other-Pw-991" not in str(info.value) and "other-Pw-991" not in repr(info.value)
    assert "other-Pw-991" not in generate_latest(REGISTRY).decode()
    captured = capsys.readouterr()
    assert "other-Pw-991" not in captured.out + captured.err


def test_bridges_run_against_the_secure_broker(
    secure_broker: tuple[str, Path, str], digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path
) -> None:
    """Both bridges, exactly once, with every credential from the environment; the password stays out of
    their logs and metrics."""
    import uuid

    from kafka import KafkaProducer

    from tests.integration.bridge_helpers import bridge_pair, read_all

    bootstrap, ca, _ = secure_broker
    security = dict(
        security_protocol="SASL_SSL", sasl_mechanism="PLAIN", sasl_plain_username=USER,
        sasl_plain_password=PASSWORD, ssl_cafile=str(ca),
    )  # fmt: skip
    run = uuid.uuid4().hex[:8]
    raw, packed, restored = f"raw-{run}", f"packed-{run}", f"restored-{run}"
    records = digits[:500]
    producer = KafkaProducer(bootstrap_servers=bootstrap, **security)
    for i, row in enumerate(records):
        producer.send(raw, key=str(i).encode(), value=json.dumps({"id": i, "values": row.tolist()}).encode())
    producer.flush()
    producer.close()
    env = _client_env(bootstrap, ca)
    common = ["--idle-timeout", "60"]
    compress, decompress = bridge_pair(
        bootstrap,
        tmp_path,
        digits_bundle_dir,
        (raw, packed, restored),
        compress=["--array-field", "values", *common],
        decompress=common,
        env=env,
    )
    try:
        compress.wait_ready(timeout=120)
        decompress.wait_ready(timeout=120)
        out = read_all(bootstrap, restored, len(records), **security)
        metrics_text = compress.get("/metrics")[1] + decompress.get("/metrics")[1]
        compress.stop()
        decompress.stop()
    finally:
        compress.kill()
        decompress.kill()
    assert sorted(int(m.key) for m in out) == list(range(len(records)))  # each exactly once
    assert all(json.loads(m.value)["id"] == int(m.key) for m in out)
    for text in (metrics_text, compress.log_path.read_text(), decompress.log_path.read_text()):
        assert PASSWORD not in text
