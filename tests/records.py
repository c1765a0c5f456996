"""Kafka records for tests that feed consumers and bridges without a broker: kafka-python's own type."""

from __future__ import annotations

from kafka.consumer.fetcher import ConsumerRecord


def consumer_record(
    topic: str,
    partition: int,
    offset: int,
    value: bytes | None,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    timestamp: int = 0,
) -> ConsumerRecord:
    """A ``ConsumerRecord`` as ``KafkaConsumer.poll`` returns it, sizes filled in from the fields."""
    headers = list(headers or [])
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        leader_epoch=-1,
        offset=offset,
        timestamp=timestamp,
        timestamp_type=0,
        key=key,
        value=value,
        headers=headers,
        checksum=None,
        serialized_key_size=-1 if key is None else len(key),
        serialized_value_size=-1 if value is None else len(value),
        serialized_header_size=sum(len(k) + len(v) for k, v in headers),
    )
