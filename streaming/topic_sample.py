"""Read a sample of raw records from a live topic, for ``latentwire train --from-topic``.

The sample is the most recent ``max_records`` records: each partition is read from ``max_records /
partitions`` records before its end (or its beginning), without a consumer group, so reading a sample
never moves anyone's committed offsets. Records are parsed exactly as the compress bridge parses them
(:class:`streaming.raw_records.RecordFormat`); records that do not parse are skipped and counted. For an
event schema the records are taken whole (:func:`sample_events`).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from compressor.errors import ConfigError, DataError
from compressor.events import Event
from streaming.raw_records import RecordFormat

__all__ = ["sample_events", "sample_topic"]

log = logging.getLogger(__name__)


def _record_size(value: bytes | None, record_format: RecordFormat) -> int | None:
    if value is None:
        return None
    if record_format.input_format == "f32":
        return len(value) // 4 or None
    if record_format.fields:
        return len(record_format.fields)
    try:
        data = json.loads(value).get(record_format.array_field)
    except (ValueError, AttributeError):
        return None
    return len(data) if isinstance(data, list) and data else None


def _newest(config: dict[str, Any], topic: str, max_records: int, timeout: float) -> Iterator[Any]:
    """The newest ``max_records`` records of ``topic`` (about as many from each partition), each
    partition in order; reading stops at the ends seen when it started, or after ``timeout`` seconds."""
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition

    if max_records < 1:
        raise ConfigError("--max-records must be positive when training from a topic")
    consumer = KafkaConsumer(
        **config,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        allow_auto_create_topics=False,
    )
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise ConfigError(f"topic {topic} does not exist or has no partitions")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        begin, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        share = math.ceil(max_records / len(tps))
        for tp in tps:
            consumer.seek(tp, max(begin[tp], end[tp] - share))
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() <= deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                for msg in messages:
                    if msg.offset < end[TopicPartition(msg.topic, msg.partition)]:
                        yield msg
    finally:
        consumer.close()


def sample_topic(
    config: dict[str, Any],
    topic: str,
    record_format: RecordFormat,
    max_records: int,
    *,
    timeout: float = 60.0,
) -> tuple[np.ndarray, int]:
    """``(records (N, D) float32, skipped)``: up to ``max_records`` of the newest parseable records."""
    rows: list[np.ndarray] = []
    skipped, size = 0, None
    for msg in _newest(config, topic, max_records, timeout):
        size = size or _record_size(msg.value, record_format)
        try:
            rows.append(record_format.parse(msg.value, size or 0).values)
        except DataError:
            skipped += 1
        if len(rows) >= max_records:
            break
    if not rows:
        raise ConfigError(f"no usable records in topic {topic} ({skipped} could not be parsed)")
    if skipped:
        log.warning("skipped %d record(s) of %s that did not parse", skipped, topic)
    return np.stack(rows[:max_records]), skipped


def sample_events(
    config: dict[str, Any], topic: str, max_records: int, *, timeout: float = 60.0
) -> list[Event]:
    """Up to ``max_records`` of the newest records of ``topic`` as events (value, key, timestamp,
    headers), each partition in order: the sample an event schema is learned from."""
    events = [
        Event(msg.value, msg.key, msg.timestamp, tuple(msg.headers or ()))
        for msg in itertools.islice(_newest(config, topic, max_records, timeout), max_records)
    ]
    if not events:
        raise ConfigError(f"topic {topic} holds no records to learn an event schema from")
    return events
