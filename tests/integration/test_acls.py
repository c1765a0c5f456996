"""ACLs on a secure broker (StandardAuthorizer): who may do what, and that everything else is refused.

One secure broker with a super user and three users that log in with SCRAM-SHA-512 (PLAIN also works):
``bridge`` may read ``raw`` and write ``packed`` (plus its dead-letter topic, its consumer group and its
transactional id), ``reader`` may read ``restored`` in its group, ``nobody`` has no grant. Every allowed
path works; every denied one makes the CLI exit with status 77 within seconds, saying what was refused,
and writes nothing where it was refused. No password shows in any output, at any verbosity.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from streaming.acls import Grant, apply, bridge_grants, list_grants, reader_grants
from streaming.broker import BrokerConfig, LocalBroker

pytestmark = [pytest.mark.integration, pytest.mark.fault]

PASSWORDS = {"admin": "adm-Kq27-secret", "bridge": "brg-Lx93-secret", "reader": "rdr-Wp55-secret"}
PASSWORDS["nobody"] = "nbd-Ty61-secret"
CLI = [sys.executable, "-m", "latentwire"]
RAW, PACKED, RESTORED, DLQ = "acl-raw", "acl-packed", "acl-restored", "acl-raw.dlq"
BRIDGE_GROUP, READER_GROUP, TXN = "acl-bridges", "acl-readers", "acl-compress"
#: a refused command must give up within this many seconds of its first Kafka log line
REFUSED_WITHIN = 15.0
#: ... and exit within this many seconds in all (process start and TensorFlow import on shared cores)
EXITS_WITHIN = 300.0
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ kafka\.")
EXIT_NOT_AUTHORIZED = 77


@pytest.fixture(scope="module")
def secure(
    tmp_path_factory: pytest.TempPathFactory, free_ports: Callable[[], tuple[int, int]]
) -> Iterator[LocalBroker]:
    port, controller = free_ports()
    config = BrokerConfig(
        port=port, controller_port=controller, dir=tmp_path_factory.mktemp("acl-broker"), heap="384m",
        secure=True, user="admin", password=PASSWORDS["admin"],
        users=tuple((name, pw) for name, pw in PASSWORDS.items() if name != "admin"),
    )  # fmt: skip
    broker = LocalBroker(config)
    broker.start(timeout=120)
    try:
        from kafka.admin import KafkaAdminClient, NewTopic

        admin = KafkaAdminClient(**config.client_config())
        admin.create_topics([NewTopic(t, 1, 1) for t in (RAW, PACKED, RESTORED, DLQ)])
        admin.close()
        apply(
            config.client_config(),
            bridge_grants(
                "bridge", input_topic=RAW, output_topic=PACKED, group=BRIDGE_GROUP, transactional_id=TXN
            )
            + reader_grants("reader", topic=RESTORED, group=READER_GROUP),
        )
        yield broker
    finally:
        broker.stop()
        log = (broker.dir / "broker.log").read_text(errors="replace")
        assert not any(pw in log for pw in PASSWORDS.values())


def _env(broker: LocalBroker, user: str, mechanism: str = "SCRAM-SHA-512") -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("LATENTWIRE_") or k == "LATENTWIRE_CACHE_DIR"
    }
    env.update(
        OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3",
        LATENTWIRE_BOOTSTRAP_SERVERS=broker.bootstrap_servers, LATENTWIRE_SECURITY_PROTOCOL="SASL_SSL",
        LATENTWIRE_SASL_MECHANISM=mechanism, LATENTWIRE_SASL_PLAIN_USERNAME=user,
        LATENTWIRE_SASL_PLAIN_PASSWORD=PASSWORDS[user], LATENTWIRE_SSL_CAFILE=str(broker.config.ca_file),
    )  # fmt: skip
    return env


def _run(
    args: list[str], env: dict[str, str], timeout: float = 240
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    output = result.stdout + result.stderr
    assert not any(pw in output for pw in PASSWORDS.values()), "a password was printed"
    return result, time.monotonic() - started


def _kafka_seconds(stderr: str) -> float:
    """Seconds from the first to the last line kafka-python logged (at -vv): how long the client talked to
    the broker before the command gave up, without process start-up."""
    stamps = [
        datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
        for m in map(_STAMP.match, stderr.splitlines())
        if m
    ]
    return (stamps[-1] - stamps[0]).total_seconds() if stamps else float("inf")


def _end_offset(broker: LocalBroker, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**broker.config.client_config(), isolation_level="read_uncommitted")
    try:
        tp = TopicPartition(topic, 0)
        return int(consumer.end_offsets([tp])[tp])
    finally:
        consumer.close()


def _produce_raw(broker: LocalBroker, rows: np.ndarray) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(**broker.config.client_config(), acks="all")
    for i, row in enumerate(rows):
        producer.send(RAW, key=str(i).encode(), value=row.astype("<f4").tobytes())
    producer.flush()
    producer.close()


def test_grants_are_listed(secure: LocalBroker) -> None:
    grants = list_grants(secure.config.client_config())
    assert Grant("bridge", "topic", RAW, "READ") in grants
    assert Grant("bridge", "topic", PACKED, "WRITE") in grants
    assert Grant("bridge", "transactional_id", TXN, "WRITE", prefixed=True) in grants
    assert Grant("reader", "topic", RESTORED, "READ") in grants
    assert not [g for g in grants if g.user == "nobody"]
    assert not [g for g in grants if g.user == "bridge" and g.name == RESTORED]


def test_allowed_paths_work(
    secure: LocalBroker, digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path
) -> None:
    """raw -> compress bridge (user bridge, SCRAM) -> packed -> decompress (super user) -> restored ->
    consume (user reader, SCRAM and PLAIN). Both bridges run side by side and are stopped (SIGTERM) once
    the reader has every record, rather than waiting out an idle timeout each."""
    _produce_raw(secure, digits[:200])
    bridges = [
        _Started(
            ["-vv", "compress-bridge", "--model", str(digits_bundle_dir), "--input-topic", RAW,
             "--output-topic", PACKED, "--input-format", "f32", "--group-id", BRIDGE_GROUP,
             "--transactional-id", f"{TXN}-1", "--metrics-port", "0"],
            _env(secure, "bridge"), tmp_path / "compress.log",
        ),
        _Started(
            ["decompress-bridge", "--model", str(digits_bundle_dir), "--no-registry", "--input-topic", PACKED,
             "--output-topic", RESTORED, "--metrics-port", "0"],
            _env(secure, "admin", "PLAIN"), tmp_path / "decompress.log",
        ),
    ]  # fmt: skip
    try:
        restored = _read_as(secure, "reader", "SCRAM-SHA-512", RESTORED, READER_GROUP, timeout=EXITS_WITHIN)
    finally:
        outcomes = [bridge.stop() for bridge in bridges]
    for returncode, output in outcomes:
        assert returncode == 0, output[-3000:]
    assert len(restored) == 200
    assert _end_offset(secure, PACKED) >= 200  # 200 records and a commit marker
    assert len(_read_as(secure, "reader", "PLAIN", RESTORED, READER_GROUP)) == 200


class _Started:
    """``latentwire <args>`` running in the background, its output in ``log``; :meth:`stop` ends it."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [*CLI, *args], stdout=out, stderr=subprocess.STDOUT, env=env, text=True
            )

    def stop(self, timeout: float = 60) -> tuple[int, str]:
        """SIGTERM, wait (SIGKILL after ``timeout`` s); the exit status and the output, checked to hold no
        password."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        output = self.log.read_text(errors="replace")
        assert not any(pw in output for pw in PASSWORDS.values()), "a password was printed"
        return self.proc.returncode, output


def _read_as(
    broker: LocalBroker, user: str, mechanism: str, topic: str, group: str, timeout: float = 60
) -> list[bytes]:
    """Every record of ``topic`` read by ``user`` in ``group`` from the start (no commit), waiting up to
    ``timeout`` seconds for 200."""
    from kafka import KafkaConsumer

    config = broker.config.client_config()
    config.update(sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=PASSWORDS[user])
    consumer = KafkaConsumer(
        topic, **config, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
        isolation_level="read_committed",
    )  # fmt: skip
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(values) < 200:
            for messages in consumer.poll(timeout_ms=500).values():
                values += [m.value for m in messages]
    finally:
        consumer.close()
    return values


DENIED = [
    # (user, what it tries, CLI arguments, the topic that must stay untouched)
    ("bridge", "write restored", ["produce", "--topic", RESTORED], RESTORED),
    ("reader", "write restored", ["produce", "--topic", RESTORED], RESTORED),
    ("nobody", "write raw", ["produce", "--topic", RAW], RAW),
    ("reader", "read raw", ["consume", "--topic", RAW, "--group-id", READER_GROUP], None),
    ("bridge", "read restored", ["consume", "--topic", RESTORED, "--group-id", BRIDGE_GROUP], None),
    ("nobody", "read restored", ["consume", "--topic", RESTORED, "--group-id", READER_GROUP], None),
    ("reader", "read restored in another group", ["consume", "--topic", RESTORED, "--group-id", "x"], None),
    ("bridge", "bridge raw into restored", ["compress-bridge", "--input-topic", RAW, "--output-topic", RESTORED,
     "--input-format", "f32", "--group-id", BRIDGE_GROUP, "--transactional-id", f"{TXN}-2"], RESTORED),
    ("bridge", "use another transactional id", ["compress-bridge", "--input-topic", RAW, "--output-topic",
     PACKED, "--input-format", "f32", "--group-id", BRIDGE_GROUP, "--transactional-id", "other"], PACKED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("user", "what", "args", "untouched"), DENIED, ids=[f"{d[0]}-{d[1]}" for d in DENIED]
)
def test_denied_paths_are_refused(
    secure: LocalBroker, digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path,
    user: str, what: str, args: list[str], untouched: str | None,
) -> None:  # fmt: skip
    _produce_raw(secure, digits[:20])  # fresh input, so a bridge has something to (try to) write
    data = tmp_path / "digits.npy"
    np.save(data, digits[:20])
    extra = {
        "produce": ["--model", str(digits_bundle_dir), "--data", str(data)],
        "consume": ["--model", str(digits_bundle_dir), "--idle-timeout", "30"],
        "compress-bridge": ["--model", str(digits_bundle_dir), "--idle-timeout", "30", "--metrics-port", "0"],
    }[args[0]]
    before = _end_offset(secure, untouched) if untouched else 0
    result, seconds = _run(["-vv", *args, *extra], _env(secure, user))
    talking = _kafka_seconds(result.stderr)
    last = [line for line in result.stderr.splitlines() if line.startswith("latentwire ")][-1:]
    print(
        f"{user} tries to {what}: exit {result.returncode}, {talking:.1f} s after connecting ({seconds:.1f} s in all): {last}"
    )
    assert result.returncode == EXIT_NOT_AUTHORIZED, result.stderr[-3000:]
    assert last and "not authorized: the broker refused this user" in last[0]
    assert "Traceback" not in result.stderr
    assert talking < REFUSED_WITHIN and seconds < EXITS_WITHIN
    if untouched:
        assert _end_offset(secure, untouched) == before, f"{user} wrote to {untouched}"
