"""streaming.confluent_client without a broker: the poll semantics of ``consume_available``, the
metadata lookup of ``assign_known`` and delivery errors of an unreachable broker."""

from __future__ import annotations

from typing import Any

import pytest

from streaming.confluent_client import (
    BatchDelivery,
    ConfluentSender,
    assign_known,
    consume_available,
    poll_messages,
)


class _QueuedConsumer:
    """A stand-in for a confluent-kafka ``Consumer`` whose fetched messages sit in ``queue``; ``arrives``
    is what a blocking call sees arrive while it waits. Records every call as (method, arguments)."""

    def __init__(self, queue: list[Any], arrives: list[Any] | None = None) -> None:
        self.queue = list(queue)
        self.arrives = list(arrives or [])
        self.calls: list[tuple[str, Any]] = []

    def consume(self, num_messages: int, timeout: float) -> list[Any]:
        self.calls.append(("consume", (num_messages, timeout)))
        if not self.queue and timeout > 0:
            self.queue, self.arrives = self.arrives, []
        taken, self.queue = self.queue[:num_messages], self.queue[num_messages:]
        return taken

    def poll(self, timeout: float) -> Any:
        self.calls.append(("poll", timeout))
        if not self.queue:
            self.queue, self.arrives = self.arrives, []
        return self.queue.pop(0) if self.queue else None

    def list_topics(self, topic: str, timeout: float) -> None:
        self.calls.append(("list_topics", (topic, timeout)))

    def assign(self, partitions: list[Any]) -> None:
        self.calls.append(("assign", partitions))


def test_fetched_messages_come_back_without_waiting() -> None:
    consumer = _QueuedConsumer(list(range(10)), arrives=[99])
    assert consume_available(consumer, 4, timeout=5.0) == [0, 1, 2, 3]
    assert consume_available(consumer, 100, timeout=5.0) == [4, 5, 6, 7, 8, 9]  # fewer than asked: no wait
    assert all(call == ("consume", (n, 0)) for call, n in zip(consumer.calls, (4, 100), strict=True))


def test_an_empty_queue_waits_for_the_first_message_then_takes_the_rest() -> None:
    consumer = _QueuedConsumer([], arrives=[1, 2, 3])
    assert consume_available(consumer, 2, timeout=0.5) == [1, 2]
    assert consumer.calls == [("consume", (2, 0)), ("poll", 0.5), ("consume", (1, 0))]
    assert consume_available(_QueuedConsumer([], arrives=[7, 8]), 1, timeout=0.5) == [7]


def test_nothing_within_the_timeout_is_an_empty_batch() -> None:
    consumer = _QueuedConsumer([])
    assert consume_available(consumer, 4096, timeout=0.25) == []
    assert consumer.calls == [("consume", (4096, 0)), ("poll", 0.25)]


def test_poll_messages_uses_the_default_batch_for_confluent_consumers() -> None:
    from streaming.confluent_client import DEFAULT_BATCH

    consumer = _QueuedConsumer([])
    assert poll_messages(consumer, timeout_ms=200, max_records=None) == []
    assert consumer.calls == [("consume", (DEFAULT_BATCH, 0)), ("poll", 0.2)]


def test_assign_known_looks_each_topic_up_once_before_assigning() -> None:
    from confluent_kafka import TopicPartition

    consumer = _QueuedConsumer([])
    partitions = [TopicPartition("b", 0), TopicPartition("a", 1), TopicPartition("b", 1)]
    assign_known(consumer, partitions, timeout=3.0)
    assert consumer.calls == [
        ("list_topics", ("a", 3.0)),
        ("list_topics", ("b", 3.0)),
        ("assign", partitions),
    ]


def test_a_failed_delivery_completes_its_future_with_the_error() -> None:
    """Records purged from an unreachable broker's queue fail as KafkaException (a delivery error of any
    other code than too-large)."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    producer = confluent_kafka.Producer({"bootstrap.servers": "127.0.0.1:9", "log_level": 0})
    sender = ConfluentSender(producer)
    future = sender.send("t", value=b"x")
    producer.purge()
    producer.flush(5)
    assert future.is_done and future.failed()
    assert isinstance(future.exception, confluent_kafka.KafkaException)
    assert future.exception.args[0].code() == confluent_kafka.KafkaError._PURGE_QUEUE


def test_a_record_over_the_producers_limit_fails_as_too_large() -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    from kafka.errors import MessageSizeTooLargeError

    producer = confluent_kafka.Producer(
        {"bootstrap.servers": "127.0.0.1:9", "message.max.bytes": 1000, "log_level": 0}
    )
    with pytest.raises(MessageSizeTooLargeError):
        ConfluentSender(producer).send("t", value=b"x" * 5000)
    producer.purge()


def _unreachable_producer(**settings: Any) -> Any:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    return confluent_kafka.Producer({"bootstrap.servers": "127.0.0.1:9", "log_level": 0, **settings})


def test_send_batch_reports_each_failed_record_by_position() -> None:
    from confluent_kafka import KafkaError, KafkaException

    producer = _unreachable_producer()
    delivery = ConfluentSender(producer).send_batch("t", [b"a", b"b", b"c"], keys=[b"1", None, b"3"])
    assert not delivery.is_done
    producer.purge()
    producer.flush(5)
    assert delivery.is_done
    assert [position for position, _ in delivery.failures] == [0, 1, 2]
    assert all(isinstance(e, KafkaException) for _, e in delivery.failures)
    assert delivery.failures[0][1].args[0].code() == KafkaError._PURGE_QUEUE


def test_send_batch_hands_refused_records_over_and_settles_them() -> None:
    from kafka.errors import MessageSizeTooLargeError

    producer = _unreachable_producer(**{"message.max.bytes": 1000})
    refused: list[tuple[int, BaseException]] = []
    values = [b"ok", b"x" * 5000, b"ok", b"y" * 5000]
    delivery = ConfluentSender(producer).send_batch("t", values, on_raise=lambda j, e: refused.append((j, e)))
    assert [j for j, _ in refused] == [1, 3]
    assert all(isinstance(e, MessageSizeTooLargeError) for _, e in refused)
    producer.purge()
    producer.flush(5)
    assert delivery.is_done and [p for p, _ in delivery.failures] == [0, 2]  # the others were queued


def test_a_raising_on_raise_stops_the_batch_and_settles_what_was_never_sent() -> None:
    from kafka.errors import MessageSizeTooLargeError

    producer = _unreachable_producer(**{"message.max.bytes": 1000})

    def stop(_position: int, error: BaseException) -> None:
        raise error

    delivery = BatchDelivery(producer, 4)
    with pytest.raises(MessageSizeTooLargeError):
        ConfluentSender(producer).send_batch(
            "t", [b"ok", b"x" * 5000, b"ok", b"ok"], on_raise=stop, delivery=delivery
        )
    assert not delivery.is_done  # the first record is out; the refused one and the two after it settled
    producer.purge()
    producer.flush(5)
    assert delivery.is_done and [p for p, _ in delivery.failures] == [0]


def test_batching_producer_counts_a_confluent_batchs_failures_per_record(digits_bundle, digits) -> None:
    """Through the batch path, every failed record reaches ``on_send_error`` with its own index."""
    from prometheus_client import CollectorRegistry

    from compressor.codec import Codec
    from producers.batching import BatchingProducer
    from streaming.metrics import ProducerMetrics

    producer = _unreachable_producer(**{"message.timeout.ms": 300})
    failed: list[int] = []
    metrics = ProducerMetrics.get(CollectorRegistry())
    batching = BatchingProducer(
        producer, Codec(digits_bundle), "t", batch_size=8, metrics=metrics,
        on_send_error=lambda _exc, index: failed.append(index),
    )  # fmt: skip
    batching.send(digits[:20], first_index=100)
    assert batching.pending_bytes > 0
    batching.flush(timeout=10)
    assert sorted(failed) == list(range(100, 120))
    assert batching.pending_bytes == 0
    assert metrics.errors.labels("t", "send_failed")._value.get() == 20
