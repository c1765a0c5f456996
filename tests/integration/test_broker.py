"""A real single-node Kafka broker run by LocalBroker: start, produce/consume, status, stop, restart."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streaming.broker import BrokerConfig, LocalBroker, broker_reachable

pytestmark = pytest.mark.integration


def _port_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return False
    except OSError:
        return True


@pytest.fixture(scope="module")
def broker(
    tmp_path_factory: pytest.TempPathFactory, free_ports: Callable[[], tuple[int, int]]
) -> Iterator[LocalBroker]:
    port, controller_port = free_ports()
    config = BrokerConfig(port=port, controller_port=controller_port, dir=tmp_path_factory.mktemp("broker"))
    local = LocalBroker(config)
    local.start(timeout=90.0)
    yield local
    local.stop()


def _roundtrip(bootstrap: str, topic: str, values: list[bytes]) -> list[bytes]:
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for value in values:
            producer.send(topic, value=value, key=b"k")
        producer.flush(timeout=30)
    finally:
        producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=15_000,
    )
    received: list[bytes] = []
    try:
        for message in consumer:
            received.append(message.value)
            if len(received) == len(values):
                break
    finally:
        consumer.close()
    return received


def test_produce_and_consume(broker: LocalBroker) -> None:
    values = [f"record-{i}".encode() for i in range(5)]
    assert _roundtrip(broker.bootstrap_servers, f"t-{uuid.uuid4().hex}", values) == values


def test_status_running(broker: LocalBroker) -> None:
    status = broker.status()
    assert status.running
    assert status.pid is not None and status.pid > 0
    assert status.bootstrap_servers == broker.bootstrap_servers == f"127.0.0.1:{broker.config.port}"
    assert status.dir == broker.dir
    assert status.log_path.is_file()
    assert broker.pid_path.read_text().strip() == str(status.pid)
    assert (broker.dir / "data" / "meta.properties").is_file()


def test_start_is_idempotent(broker: LocalBroker) -> None:
    pid = broker.status().pid
    started = time.monotonic()
    broker.start()
    assert time.monotonic() - started < 5
    assert broker.status().pid == pid
    # a second handle on the same directory sees the same broker and the context manager leaves it alone
    with LocalBroker(broker.config) as other:
        assert other.status().pid == pid
    assert broker.status().running


def test_stop_then_fast_restart(broker: LocalBroker, caplog: pytest.LogCaptureFixture) -> None:
    meta = broker.data_dir / "meta.properties"
    formatted = meta.stat().st_mtime_ns
    broker.stop()
    status = broker.status()
    assert not status.running
    assert status.pid is None
    assert not broker.pid_path.exists()
    assert _port_closed(broker.config.port)
    assert not broker_reachable(broker.bootstrap_servers, timeout=1.0)

    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="streaming.broker"):
        broker.start()  # jars cached and storage already formatted: no maven, no format
    # what makes a restart fast, checked directly: the wall-clock bound only catches a hang, since a
    # JVM start takes 5 s on a quiet machine and over 20 s on a crowded one
    assert time.monotonic() - started < 60
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if m.startswith(("resolving Kafka", "formatted "))], messages
    assert meta.stat().st_mtime_ns == formatted
    assert broker.status().running
    values = [b"after-restart"]
    assert _roundtrip(broker.bootstrap_servers, f"t-{uuid.uuid4().hex}", values) == values


def test_context_manager_owns_what_it_starts(
    tmp_path: Path, free_ports: Callable[[], tuple[int, int]]
) -> None:
    port, controller_port = free_ports()
    config = BrokerConfig(port=port, controller_port=controller_port, dir=tmp_path / "ctx")
    with LocalBroker(config) as local:
        assert local.status().running
        assert broker_reachable(local.bootstrap_servers, timeout=5.0)
    assert not LocalBroker(config).status().running
    assert _port_closed(port)


def test_session_fixtures(kafka_bootstrap: str, topic: str, topic_factory: Callable[..., str]) -> None:
    from kafka.admin import KafkaAdminClient

    many = topic_factory(partitions=3)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics([topic, many])}
    finally:
        admin.close()
    assert len(described[topic]["partitions"]) == 1
    assert len(described[many]["partitions"]) == 3
