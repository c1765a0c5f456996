"""Fixtures for tests that talk to a real Kafka broker.

``kafka_bootstrap`` uses ``$KAFKA_BOOTSTRAP`` when set; otherwise it starts one single-node KRaft broker
(:class:`streaming.broker.LocalBroker`) on free loopback ports for the whole session. Tests that use
these fixtures mark themselves ``@pytest.mark.integration``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator

import pytest

from streaming.broker import BrokerConfig, LocalBroker

log = logging.getLogger(__name__)


def free_port_pair() -> tuple[int, int]:
    """Two distinct loopback ports that are free right now (client port, controller port)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(2)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        first, second = (sock.getsockname()[1] for sock in sockets)
        return first, second
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def free_ports() -> Callable[[], tuple[int, int]]:
    """``free_ports() -> (port, controller_port)`` for tests that run their own broker."""
    return free_port_pair


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the session's broker: ``$KAFKA_BOOTSTRAP`` or a LocalBroker started here."""
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    port, controller_port = free_port_pair()
    config = BrokerConfig(port=port, controller_port=controller_port, dir=tmp_path_factory.mktemp("kafka"))
    broker = LocalBroker(config)
    broker.start(timeout=90.0)
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> Iterator[object]:
    """One ``KafkaAdminClient`` for the session's broker."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="latentwire-tests")
    try:
        yield admin
    finally:
        admin.close()


@pytest.fixture
def topic_factory(kafka_admin: object) -> Iterator[Callable[..., str]]:
    """``topic_factory(partitions=1) -> name``: a new uniquely named topic, deleted after the test."""
    from kafka.admin import KafkaAdminClient, NewTopic

    assert isinstance(kafka_admin, KafkaAdminClient)
    created: list[str] = []

    def make(partitions: int = 1) -> str:
        name = f"latentwire-test-{uuid.uuid4().hex}"
        kafka_admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)], wait_for_metadata=True
        )
        created.append(name)
        return name

    yield make
    if created:
        try:
            kafka_admin.delete_topics(created, raise_errors=False)
        except Exception as exc:  # deleting is best effort: the broker may already be gone
            log.warning("could not delete test topics %s: %s", created, exc)


@pytest.fixture
def topic(topic_factory: Callable[..., str]) -> str:
    """A new single-partition topic with a unique name, deleted after the test."""
    return topic_factory()
