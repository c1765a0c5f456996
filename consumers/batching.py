"""A consumer that decodes whole poll batches with one model call per model id.

::

    consumer = BatchingConsumer(KafkaConsumer("sensors", ...), ModelResolver(model_dirs=["models/"]))
    for item in consumer.records(max_records=10_000, idle_timeout=5.0):
        if isinstance(item, FailedRecord): ...   # typed error with topic, partition, offset
        else: item.values                        # float32 array

The wrapped consumer (kafka-python's ``KafkaConsumer`` or confluent-kafka's ``Consumer``; the dead-letter
producer likewise) must hand out raw bytes (no value deserializer). Undecodable records never
stop the stream: they are yielded as :class:`FailedRecord`, counted in
``latentwire_consumer_errors_total``, and forwarded to a dead-letter topic when one is configured.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from compressor.codec import Codec
from compressor.envelope import HEADER_SIZE, Envelope, unpack
from compressor.errors import LatentwireError
from consumers.resolver import ModelResolver
from streaming.confluent_client import as_messages, as_sender, poll_messages
from streaming.dead_letters import dead_letter_headers
from streaming.gc_pause import collection_paused
from streaming.metrics import ConsumerMetrics

__all__ = ["BatchingConsumer", "DecodedRecord", "FailedRecord"]

log = logging.getLogger(__name__)

#: bytes a whole fixed-rate envelope is recognised by (with its size): the header, marked wire version 8
_PREFIX_SIZE = HEADER_SIZE


class DecodedRecord(NamedTuple):
    """A record decoded from Kafka.

    Arguments:
        topic (str): the topic it was read from.
        partition (int): its partition.
        offset (int): its offset.
        key (bytes | None): its key.
        headers (list[tuple[str, bytes]]): its headers.
        timestamp (int): its Kafka timestamp, in milliseconds.
        model_id (str): the full id of the model that decoded it.
        values (np.ndarray): the decoded float32 values.
        error_bound (float | None): the error bound the record was coded with (error-bounded kinds).
            Default: None, a fixed-rate record.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp: int
    model_id: str
    values: np.ndarray
    error_bound: float | None = None


class FailedRecord(NamedTuple):
    """A record that could not be decoded: the error says why, the rest says which record it was (its
    ``str`` names both, as ``topic[partition]@offset: error``).

    Arguments:
        error (LatentwireError): why it could not be decoded.
        value (bytes | None): its value, as read.
        topic (str): the topic it was read from.
        partition (int): its partition.
        offset (int): its offset.
        key (bytes | None): its key.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    error: LatentwireError

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.error}"


class BatchingConsumer:
    """Decodes whole poll batches of a kafka-python consumer, one model call per model id.

    Arguments:
        consumer (KafkaConsumer): a consumer that hands out raw bytes (no value deserializer); None
            when only :meth:`decode_messages` is used.
        resolver (ModelResolver): finds the decoder for each model id.
        metrics (ConsumerMetrics | None): where decodes and failures are counted.
            Default: None, the instance shared on the default Prometheus registry.
        dead_letter_producer (KafkaProducer | None): the producer failed records are forwarded with.
            Default: None, failures are only yielded.
        dead_letter_topic (str | None): the topic they are forwarded to (with ``dead_letter_producer``).
            Default: None.
    """

    def __init__(
        self,
        consumer: Any,
        resolver: ModelResolver,
        *,
        metrics: ConsumerMetrics | None = None,
        dead_letter_producer: Any = None,
        dead_letter_topic: str | None = None,
    ) -> None:
        self.consumer = consumer
        self.resolver = resolver
        self.metrics = metrics or ConsumerMetrics.get()
        self.dead_letter_producer = as_sender(dead_letter_producer)
        self.dead_letter_topic = dead_letter_topic
        #: envelope prefix -> (codec, envelope size) of the whole fixed-rate envelopes of models seen
        self._fixed_prefixes: dict[bytes, tuple[Codec, int]] = {}

    def poll(
        self, timeout_ms: int = 1000, max_records: int | None = None
    ) -> list[DecodedRecord | FailedRecord]:
        """One poll: decoded records in partition order, failures in place."""
        return self.decode_messages(poll_messages(self.consumer, timeout_ms, max_records))

    def decode_messages(self, messages: list[Any]) -> list[DecodedRecord | FailedRecord]:
        """Decode one batch of consumed records (kafka-python's, aiokafka's ``getmany`` lists, or
        confluent-kafka ``Message`` objects from ``Consumer.consume``), one model call per model id (with
        the garbage collector paused: :mod:`streaming.gc_pause`)."""
        with collection_paused():
            return self._decode_messages(messages)

    def _decode_messages(self, messages: list[Any]) -> list[DecodedRecord | FailedRecord]:
        messages = as_messages(messages)
        results: list[DecodedRecord | FailedRecord | None] = [None] * len(messages)
        groups: dict[bytes, list[tuple[int, Envelope]]] = defaultdict(list)
        # whole fixed-rate envelopes of a model decoded before: recognised by their first bytes, decoded
        # as one array (Codec.decode_fixed_rate) without an Envelope per record
        known, whole = self._fixed_prefixes, defaultdict(list)
        for i, msg in enumerate(messages):
            value = msg.value
            if value is None:  # tombstone: nothing to decode, nothing lost
                continue
            if type(value) is bytes:
                prefix = value[:_PREFIX_SIZE]
                entry = known.get(prefix)
                if entry is not None and len(value) == entry[1]:
                    whole[prefix].append(i)
                    continue
            try:
                envelope = unpack(value)
            except LatentwireError as exc:
                results[i] = self._fail(msg, exc)
                continue
            groups[envelope.model_id].append((i, envelope))
        for prefix, indices in whole.items():
            codec = known[prefix][0]
            started = time.perf_counter()
            rows = codec.decode_fixed_rate([messages[i].value for i in indices])
            self._emit(messages, codec, indices, rows, None, time.perf_counter() - started, results)
        for wire_id, members in groups.items():
            self._decode_group(messages, wire_id, members, results)
        return [r for r in results if r is not None]

    def _decode_group(
        self,
        messages: list[Any],
        wire_id: bytes,
        members: list[tuple[int, Envelope]],
        results: list[DecodedRecord | FailedRecord | None],
    ) -> None:
        try:
            codec = self.resolver.codec(wire_id)
            started = time.perf_counter()
            decoded, bounds = codec.decode_with_bounds([env for _, env in members])
            elapsed = time.perf_counter() - started
        except LatentwireError as exc:
            if len(members) > 1 and exc.kind != "unknown_model":
                # one bad envelope must not take its batch down: retry one by one
                for member in members:
                    self._decode_group(messages, wire_id, [member], results)
                return
            for i, _ in members:
                results[i] = self._fail(messages[i], exc)
            return
        prefix = codec.fixed_rate_prefix
        if prefix not in self._fixed_prefixes:
            self._fixed_prefixes[prefix] = (codec, codec.fixed_rate_size)
        self._emit(messages, codec, [i for i, _ in members], decoded, bounds, elapsed, results)

    def _emit(
        self,
        messages: list[Any],
        codec: Codec,
        indices: list[int],
        decoded: Sequence[np.ndarray],
        bounds: list[float | None] | None,
        elapsed: float,
        results: list[DecodedRecord | FailedRecord | None],
    ) -> None:
        """Put the decoded records of ``messages[indices]`` in their places (``bounds`` None: fixed
        rate), and count them per topic: one metrics update per batch."""
        model_id, model = codec.model_id, codec.model_id[:8]
        # per topic: [records, payload bytes, decoded bytes]
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        record = tuple.__new__  # DecodedRecord's fields in order, without its generated __new__ per record
        for n, (i, values) in enumerate(zip(indices, decoded, strict=True)):
            msg = messages[i]
            results[i] = record(DecodedRecord, (
                msg.topic, msg.partition, msg.offset, msg.key, msg.headers or [], msg.timestamp,
                model_id, values, None if bounds is None else bounds[n],
            ))  # fmt: skip
            t = totals[msg.topic]
            t[0] += 1
            t[1] += len(msg.value)
            t[2] += 4 * values.size
        for topic, (count, payload, raw) in totals.items():
            self.metrics.records.labels(topic, model).inc(count)
            self.metrics.payload_bytes.labels(topic, model).inc(payload)
            self.metrics.decoded_bytes.labels(topic, model).inc(raw)
            self.metrics.decode_seconds.labels(topic, model).observe(elapsed * count / len(indices))

    def _fail(self, msg: Any, exc: LatentwireError) -> FailedRecord:
        failed = FailedRecord(msg.topic, msg.partition, msg.offset, msg.key, msg.value, exc)
        self.metrics.errors.labels(msg.topic, exc.kind).inc()
        log.warning("cannot decode %s", failed)
        if self.dead_letter_producer is not None and self.dead_letter_topic:
            self.dead_letter_producer.send(
                self.dead_letter_topic,
                value=msg.value,
                key=msg.key,
                headers=dead_letter_headers(
                    exc, source_topic=msg.topic, partition=msg.partition, offset=msg.offset
                ),
            )
            self.metrics.dead_letters.labels(msg.topic, exc.kind).inc()
        return failed

    def records(
        self, *, max_records: int | None = None, idle_timeout: float | None = 10.0, poll_timeout_ms: int = 500
    ) -> Iterator[DecodedRecord | FailedRecord]:
        """Yield decoded and failed records until ``max_records`` or ``idle_timeout`` seconds without data."""
        seen = 0
        last_data = time.monotonic()
        while max_records is None or seen < max_records:
            remaining = None if max_records is None else max_records - seen
            batch = self.poll(timeout_ms=poll_timeout_ms, max_records=remaining)
            if batch:
                last_data = time.monotonic()
            elif idle_timeout is not None and time.monotonic() - last_data > idle_timeout:
                return
            for item in batch:
                seen += 1
                yield item
