"""The producers' network client keeps a transactional request whose coordinator cannot be reached.

kafka-python's sender, handed a request for a coordinator that refuses connections (a SIGKILLed node),
must look the coordinator up again and queue the request once more; with the stock client it drops the
request, and ``commit_transaction`` / ``send_offsets_to_transaction`` wait for it forever. No broker is
needed: the coordinator is a loopback port nobody listens on.
"""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

import pytest
from kafka.net.compat import KafkaNetClient
from kafka.producer.sender import Sender

from streaming.producer_network import ProducerNetClient


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    """A transactional request (TxnOffsetCommit-like) that goes to the group coordinator."""

    request = "TxnOffsetCommitRequest(...)"
    coordinator_type = "group"
    is_retry = False

    def needs_coordinator(self) -> bool:
        return True


class _TransactionManager:
    """What the sender asks of kafka-python's TransactionManager on this path; records what it is told."""

    def __init__(self, handler: _Handler, coordinator: str) -> None:
        self.handler, self._coordinator = handler, coordinator
        self.lookups: list[Any] = []
        self.retried: list[Any] = []
        self.sent = False

    def is_completing(self) -> bool:
        return False

    def next_request_handler(self, has_incomplete_batches: bool) -> _Handler:
        return self.handler

    def coordinator(self, coordinator_type: str) -> str:
        return self._coordinator

    def lookup_coordinator_for_request(self, handler: _Handler) -> None:
        self.lookups.append(handler)

    def retry(self, handler: _Handler) -> None:
        self.retried.append(handler)

    def next_in_flight_request_correlation_id(self) -> int:
        self.sent = True
        return 1


def _send_to_dead_coordinator(client_class: type[KafkaNetClient]) -> _TransactionManager:
    port = _closed_port()
    client = client_class(bootstrap_servers=[f"127.0.0.1:{port}"], request_timeout_ms=2000)
    try:
        coordinator = client.cluster.add_coordinator(
            SimpleNamespace(error_code=0, node_id=3, host="127.0.0.1", port=port), "group", "bridge-group"
        )
        manager = _TransactionManager(_Handler(), coordinator)
        sender = Sender(
            client, client.cluster, SimpleNamespace(has_incomplete=False), transaction_manager=manager
        )
        assert sender._maybe_send_pending_request() is True
        return manager
    finally:
        client.close()


def test_a_request_for_an_unreachable_coordinator_is_queued_again() -> None:
    manager = _send_to_dead_coordinator(ProducerNetClient)
    assert not manager.sent
    assert manager.lookups == [manager.handler]  # the coordinator is looked up again ...
    assert manager.retried == [manager.handler]  # ... and the request waits for it


def test_the_stock_client_drops_that_request() -> None:
    """Why ProducerNetClient exists; if this fails, kafka-python fixed its sender and the subclass's
    ``await_ready`` may go."""
    manager = _send_to_dead_coordinator(KafkaNetClient)
    assert manager.lookups == [manager.handler]
    assert manager.retried == []


@pytest.mark.parametrize("seconds", [0.0, 0.25, 1.5])
def test_connection_delay_is_in_milliseconds(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    client = ProducerNetClient(bootstrap_servers=[f"127.0.0.1:{_closed_port()}"])
    try:
        monkeypatch.setattr(client._manager, "connection_delay", lambda node_id: seconds)
        assert client.connection_delay(1) == pytest.approx(seconds * 1000)
    finally:
        client.close()
