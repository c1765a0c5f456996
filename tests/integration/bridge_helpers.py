"""Helpers for tests that run bridges as real processes against the session's broker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BridgeProcess:
    """``python -m latentwire <bridge> ...`` in its own process, with its HTTP endpoint on a free port."""

    def __init__(
        self,
        command: str,
        args: Sequence[str],
        bootstrap: str,
        log_dir: Path,
        name: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        env = {
            **(os.environ if env is None else env),
            "PYTHONPATH": str(REPO),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "CUDA_VISIBLE_DEVICES": "",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "latentwire",
                "-v",
                command,
                *args,
                "--bootstrap-servers",
                bootstrap,
                "--metrics-port",
                str(self.port),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as resp:  # noqa: S310
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bridge exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"bridge not ready after {timeout} s:\n{self.log()}")

    def metric(self, name: str, **labels: str) -> float:
        from prometheus_client.parser import text_string_to_metric_families

        total = 0.0
        for family in text_string_to_metric_families(self.get("/metrics")[1]):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def stop(self, timeout: float = 60.0) -> dict[str, Any]:
        """SIGTERM, wait, and return the summary line the bridge prints on exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            raise AssertionError(f"bridge did not stop on SIGTERM:\n{self.log()}") from None
        self._log.close()
        lines = [line for line in out.splitlines() if line.startswith("{")]
        assert self.proc.returncode == 0, f"bridge exited with {self.proc.returncode}:\n{self.log()}"
        return json.loads(lines[-1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        self._log.close()

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-6000:]


def bridge_pair(
    bootstrap: str,
    log_dir: Path,
    model_dir: Path,
    topics: tuple[str, str, str],
    *,
    compress: Sequence[str] = (),
    decompress: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> tuple[BridgeProcess, BridgeProcess]:
    """A compress bridge ``raw -> packed`` and a decompress bridge ``packed -> restored`` (decoders from
    ``model_dir``, no registry); ``compress``/``decompress``: more arguments for each."""
    raw, packed, restored = topics
    return (
        BridgeProcess(
            "compress-bridge",
            ["--model", str(model_dir), "--input-topic", raw, "--output-topic", packed, *compress],
            bootstrap, log_dir, "compress", env=env,
        ),
        BridgeProcess(
            "decompress-bridge",
            ["--model", str(model_dir), "--no-registry", "--input-topic", packed, "--output-topic", restored,
             *decompress],
            bootstrap, log_dir, "decompress", env=env,
        ),
    )  # fmt: skip


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 120.0, **client: Any) -> list[Any]:
    """Every committed record of ``topic``, waiting until ``expected`` arrived (or the timeout).
    ``client``: more kafka-python settings (security)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        **client,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(got) < expected:
            for messages in consumer.poll(timeout_ms=500).values():
                got.extend(messages)
        # a little longer, to catch duplicates that would arrive after the expected count
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            for messages in consumer.poll(timeout_ms=300).values():
                got.extend(messages)
    finally:
        consumer.close()
    return got
