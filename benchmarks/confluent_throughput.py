"""The confluent-kafka rows of ``benchmarks.kafka_throughput``: raw float32 values, latentwire's serializer
per record, and latentwire's batch path, through the same broker as the kafka-python rows.

Wire bytes are what librdkafka reports it sent to brokers (``txbytes`` in its statistics), like the
kafka-python rows count the client's own ``bytes-sent``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["run_confluent_batch", "run_confluent_per_record", "run_confluent_raw"]

#: the kafka-python rows' producer settings, in librdkafka's spelling
PRODUCER = {"linger.ms": 5, "batch.size": 256 * 1024, "statistics.interval.ms": 100}


class _SentBytes:
    """Bytes librdkafka sent to brokers, from its periodic statistics (read after a flush)."""

    def __init__(self) -> None:
        self.total = 0

    def __call__(self, stats: str) -> None:
        brokers = json.loads(stats).get("brokers", {})
        self.total = max(self.total, sum(int(b.get("txbytes", 0)) for b in brokers.values()))

    def settle(self, producer: Any) -> int:
        """Serve statistics for a little longer than one interval so the last figures arrive."""
        deadline = time.monotonic() + 0.35
        while time.monotonic() < deadline:
            producer.poll(0.05)
        return self.total


def _produce(bootstrap: str, send: Callable[[Any, str], None], make: Callable[[dict], Any]) -> tuple:
    """Create a producer with ``make(config)``, let ``send(producer, topic)`` queue everything, flush;
    returns (topic, seconds, wire bytes)."""
    topic = f"bench-confluent-{uuid.uuid4().hex[:6]}"
    sent = _SentBytes()
    producer = make({"bootstrap.servers": bootstrap, **PRODUCER, "stats_cb": sent})
    started = time.perf_counter()
    send(producer, topic)
    if producer.flush(120):
        raise RuntimeError(f"records left undelivered in {topic}")
    seconds = time.perf_counter() - started
    return topic, seconds, sent.settle(producer)


def _consume(bootstrap: str, topic: str, n: int, handle: Callable[[list], int]) -> tuple[float, float]:
    """Read ``n`` records of partition 0 with ``Consumer.consume`` batches handed to ``handle`` (which returns how many
    it decoded); returns the seconds from the assignment to the last record and, of those, the seconds until
    the first record arrived (as the kafka-python rows)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from streaming.confluent_client import DEFAULT_BATCH, assign_known, consume_available

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}", "enable.auto.commit": False,
         "fetch.max.bytes": 64 * 1024 * 1024}
    )  # fmt: skip
    started = time.perf_counter()
    # like the kafka-python rows: no group join; the topic's metadata looked up (timed) before the assignment
    assign_known(consumer, [TopicPartition(topic, 0, OFFSET_BEGINNING)])
    seen = 0
    first = None
    deadline = started + 600
    while seen < n and time.perf_counter() < deadline:
        batch = consume_available(consumer, DEFAULT_BATCH, 1.0)  # what is fetched, as kafka-python's poll
        if batch and first is None:
            first = time.perf_counter() - started
        seen += handle(batch)
    seconds = time.perf_counter() - started
    consumer.close()
    if seen < n or first is None:
        raise RuntimeError(f"consumed only {seen} of {n} records from {topic}")
    return seconds, first


def run_confluent_raw(bootstrap: str, records: np.ndarray, result: Callable[..., dict]) -> dict:
    from confluent_kafka import Producer

    def send(producer: Any, topic: str) -> None:
        for row in records:
            _produce_one(producer, topic, row.tobytes())

    topic, produce_s, wire = _produce(bootstrap, send, Producer)
    consumed = _consume(
        bootstrap, topic, len(records), lambda b: len([np.frombuffer(m.value(), np.float32) for m in b])
    )
    return result(len(records), produce_s, consumed, wire)


def run_confluent_per_record(
    bootstrap: str, records: np.ndarray, bundle, result: Callable[..., dict]
) -> dict:  # noqa: ANN001
    """``SerializingProducer`` with latentwire's serializer, then its deserializer per consumed record."""
    from confluent_kafka import SerializingProducer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from consumers.confluent import ConfluentDeserializer
    from consumers.resolver import ModelResolver
    from producers.confluent import ConfluentSerializer

    def send(producer: Any, topic: str) -> None:
        for row in records:
            _produce_one(producer, topic, row)

    topic, produce_s, wire = _produce(
        bootstrap,
        send,
        lambda conf: SerializingProducer({**conf, "value.serializer": ConfluentSerializer(bundle)}),
    )
    deserializer = ConfluentDeserializer(ModelResolver([bundle]))
    ctx = SerializationContext(topic, MessageField.VALUE)
    consumed = _consume(
        bootstrap, topic, len(records), lambda b: len([deserializer(m.value(), ctx) for m in b])
    )
    return result(len(records), produce_s, consumed, wire)


def run_confluent_batch(bootstrap: str, records: np.ndarray, bundle, result: Callable[..., dict]) -> dict:  # noqa: ANN001
    """latentwire's batching producer driving a ``Producer``; ``Consumer.consume`` batches decoded with one
    model call each."""
    from confluent_kafka import Producer

    from compressor.codec import Codec
    from consumers.batching import BatchingConsumer
    from consumers.resolver import ModelResolver
    from producers.batching import BatchingProducer

    def send(producer: Any, topic: str) -> None:
        BatchingProducer(producer, Codec(bundle), topic, batch_size=4096).send(records)

    topic, produce_s, wire = _produce(bootstrap, send, Producer)
    reader = BatchingConsumer(None, ModelResolver([bundle]))
    consumed = _consume(
        bootstrap, topic, len(records), lambda b: sum(hasattr(r, "values") for r in reader.decode_messages(b))
    )
    return result(len(records), produce_s, consumed, wire)


def _produce_one(producer: Any, topic: str, value: Any) -> None:
    while True:
        try:
            producer.produce(topic, value=value)  # by name: SerializingProducer's second argument is the key
            return
        except BufferError:  # local queue full: let deliveries drain it
            producer.poll(0.05)
