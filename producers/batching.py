"""A producer that encodes many records per model call and sends them through kafka-python or
confluent-kafka (a ``confluent_kafka.Producer`` is driven through :mod:`streaming.confluent_client`).

::

    producer = BatchingProducer(KafkaProducer(bootstrap_servers=...), Codec(bundle), "sensors")
    report = producer.send(records, keys=keys)   # records: (N, D) array or a list of records
    producer.flush()

Records are validated first; refused ones go to the dead-letter topic with headers saying why (or raise
:class:`RejectedRecordsError` when there is none), are counted in ``latentwire_producer_errors_total``,
and never stop the batch. A send that fails for good is counted, logged and passed to ``on_send_error``;
:meth:`flush` raises :class:`SendFailedError` if any send failed and nobody took the callback. A record
larger than the producer's ``max_request_size`` (refused by ``KafkaProducer.send`` itself) or the broker's
limit (refused through the future) is such a failure, counted as ``kind="too_large"``; any other error
raised by ``send`` itself (e.g. no metadata within ``max_block_ms``) is counted and raised at once.

Backpressure: kafka-python 3.x has no ``buffer_memory`` bound, so while the broker is down or slow its
accumulator would grow without limit. Here at most ``max_pending_bytes`` of unacknowledged sends
(values, keys and a per-record overhead) are outstanding: past that, :meth:`send` waits for the oldest
sends to finish, which they do when the broker answers or when ``delivery_timeout_ms`` expires them.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compressor.codec import Codec
from compressor.errors import LatentwireError, RejectedRecordsError, SendFailedError
from compressor.quality import measure
from compressor.validation import RejectedRecord, split_valid
from producers.side_outputs import MODEL_HEADER, Analysis, SideOutputs
from streaming.confluent_client import BatchDelivery, as_sender
from streaming.dead_letters import dead_letter_headers, raw_value
from streaming.gc_pause import collection_paused
from streaming.metrics import ProducerMetrics, observe_many

__all__ = ["BatchingProducer", "RejectedRecordsError", "SendFailedError", "SendReport"]

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]


#: what one outstanding send costs beyond its key and value (future objects, batch slot), roughly
PENDING_RECORD_OVERHEAD = 256
#: default bound of unacknowledged bytes (Kafka's Java client uses 32 MiB of ``buffer.memory``)
DEFAULT_MAX_PENDING_BYTES = 32 * 1024 * 1024


def _failure_kind(exc: BaseException) -> str:
    from kafka.errors import MessageSizeTooLargeError

    return "too_large" if isinstance(exc, MessageSizeTooLargeError) else "send_failed"


@dataclass
class SendReport:
    """What one :meth:`BatchingProducer.send` did.

    Arguments:
        sent (int): records handed to Kafka. Default: 0.
        rejected (list[RejectedRecord]): records refused, with why. Default: empty.
        payload_bytes (int): envelope bytes handed to Kafka. Default: 0.
        anomalies (int): records flagged as anomalous (with ``side_outputs`` flagging them). Default: 0.
    """

    sent: int = 0
    rejected: list[RejectedRecord] = field(default_factory=list)
    payload_bytes: int = 0
    anomalies: int = 0


class BatchingProducer:
    """Encodes many records per model call and sends them through a kafka-python producer.

    Arguments:
        producer (KafkaProducer): the producer the envelopes are sent with.
        codec (Codec): the codec records are encoded with.
        topic (str): the topic they are sent to.
        batch_size (int): records per model call. Default: 2048.
        dead_letter_topic (str | None): where refused records go, with headers saying why.
            Default: None, :meth:`send` raises :class:`RejectedRecordsError` instead.
        metrics (ProducerMetrics | None): where records, bytes and failures are counted.
            Default: None, the instance shared on the default Prometheus registry.
        on_send_error (Callable[[BaseException, int], None] | None): called with the error and the
            record's index when a send fails for good. Default: None, :meth:`flush` raises
            :class:`SendFailedError`.
        side_outputs (SideOutputs | None): anomaly flags and feature records sent along. Default: None.
        max_pending_bytes (int): most unacknowledged bytes outstanding before :meth:`send` waits.
            Default: 32 MiB.
    """

    def __init__(
        self,
        producer: Any,
        codec: Codec,
        topic: str,
        *,
        batch_size: int = 2048,
        dead_letter_topic: str | None = None,
        metrics: ProducerMetrics | None = None,
        on_send_error: Callable[[BaseException, int], None] | None = None,
        side_outputs: SideOutputs | None = None,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        if max_pending_bytes < 1:
            raise ValueError("max_pending_bytes must be positive")
        self.producer = as_sender(producer)
        self.codec = codec
        self.topic = topic
        self.batch_size = batch_size
        self.dead_letter_topic = dead_letter_topic
        self.metrics = metrics or ProducerMetrics.get()
        self.on_send_error = on_send_error
        self.side_outputs = side_outputs
        self._labels = (topic, codec.model_id[:8])
        self._raw = 0
        self._payload = 0
        self._failed: list[BaseException] = []
        self._lock = threading.Lock()
        # (record index, future, bytes) of sends not yet known to have succeeded; checked in bulk, which is
        # far cheaper than one errback per record; a confluent-kafka batch is one entry (the indices of its
        # records, their BatchDelivery, bytes)
        self._pending: collections.deque[tuple[Any, Any, int]] = collections.deque()
        self._pending_bytes = 0
        self.max_pending_bytes = max_pending_bytes
        #: seconds :meth:`send` spent waiting for the broker because too much was outstanding
        self.blocked_seconds = 0.0
        self._index_base = 0

    def send(
        self,
        records: np.ndarray | Sequence[Any],
        *,
        keys: Sequence[bytes | None] | None = None,
        headers: Sequence[Headers | None] | None = None,
        lengths: Sequence[int | None] | None = None,
        first_index: int = 0,
    ) -> SendReport:
        """Encode and send ``records`` in batches; returns what was sent and what was refused.

        ``first_index`` numbers the records in reports and dead-letter headers (for callers that send a
        long stream in slices)."""
        report = SendReport()
        self._index_base = first_index
        total = len(records)
        for start in range(0, total, self.batch_size):
            stop = min(start + self.batch_size, total)
            with collection_paused():  # see streaming.gc_pause
                self._send_batch(records[start:stop], start, keys, headers, lengths, report)

        if report.rejected and self.dead_letter_topic is None:
            raise RejectedRecordsError(report.rejected)
        return report

    def _send_batch(
        self,
        chunk: np.ndarray | Sequence[Any],
        offset: int,
        keys: Sequence[bytes | None] | None,
        headers: Sequence[Headers | None] | None,
        lengths: Sequence[int | None] | None,
        report: SendReport,
    ) -> None:
        escapes = self.codec.is_bounded
        valid, kept, rejected = split_valid(chunk, self.codec.record_size, allow_non_finite=escapes)
        for bad in rejected:
            self._reject(chunk[bad.index], RejectedRecord(offset + bad.index, bad.error), keys, report)
        if not len(valid):
            return
        started = time.perf_counter()
        batch_lengths = None if lengths is None else [lengths[offset + i] for i in kept]
        encoded = self.codec.encode(valid, batch_lengths)
        m = self.metrics
        m.encode_seconds.labels(*self._labels).observe(time.perf_counter() - started)
        self._observe_quality(valid, encoded.decoded, batch_lengths)
        self._wait_for_room()
        side = self.side_outputs
        analysis = (
            side.analyse(valid, encoded.latents, self.topic) if side is not None and side.enabled else None
        )
        batch_headers = self._batch_headers(kept, offset, headers, analysis)
        if hasattr(self.producer, "send_batch"):
            rows = kept.tolist()
            self._send_together(
                encoded.payloads,
                [self._index_base + offset + i for i in rows],
                None if keys is None else [keys[offset + i] for i in rows],
                batch_headers,
            )
        else:
            self._send_each(encoded.payloads, kept, offset, keys, batch_headers)
        if analysis is not None:
            self._send_side_outputs(analysis, kept, offset, keys, encoded.payloads)
            if analysis.flags is not None:
                report.anomalies += int(analysis.flags.sum())
        payload_bytes = sum(map(len, encoded.payloads))
        report.payload_bytes += payload_bytes
        self._sweep()
        raw = 4 * (valid.size if batch_lengths is None else sum(n or valid.shape[1] for n in batch_lengths))
        self._raw += raw
        self._payload += payload_bytes
        report.sent += len(encoded.payloads)
        m.records.labels(*self._labels).inc(len(encoded.payloads))
        m.raw_bytes.labels(*self._labels).inc(raw)
        m.payload_bytes.labels(*self._labels).inc(payload_bytes)
        m.compression_ratio.labels(*self._labels).set(self._raw / max(self._payload, 1))

    def _send_each(
        self,
        payloads: list[bytes],
        kept: np.ndarray,
        offset: int,
        keys: Sequence[bytes | None] | None,
        batch_headers: list[Headers | None] | None,
    ) -> None:
        """Send one envelope at a time, keeping each one's future (kafka-python)."""
        send, topic, pending = self.producer.send, self.topic, self._pending
        added = 0
        for j, (i, payload) in enumerate(zip(kept.tolist(), payloads, strict=True)):
            index = offset + i
            key = None if keys is None else keys[index]
            try:
                future = send(
                    topic, value=payload, key=key, headers=batch_headers[j] if batch_headers else None
                )
            except Exception as exc:
                future = self._send_raised(exc, self._index_base + index, topic)
            if future is not None:
                size = len(payload) + (len(key) if key else 0) + PENDING_RECORD_OVERHEAD
                pending.append((self._index_base + index, future, size))
                added += size
        self._pending_bytes += added

    def _send_together(
        self,
        payloads: list[bytes],
        indices: list[int],
        batch_keys: list[bytes | None] | None,
        batch_headers: list[Headers | None] | None,
    ) -> None:
        """Send the envelopes (records ``indices`` of the caller's stream) through the sender's
        ``send_batch`` (confluent-kafka): one pending entry for the batch, whose delivery lists the
        records that failed by their position."""
        size = sum(map(len, payloads)) + PENDING_RECORD_OVERHEAD * len(payloads)
        if batch_keys is not None:
            size += sum(len(k) for k in batch_keys if k)
        topic = self.topic

        def refused(position: int, exc: BaseException) -> None:
            self._send_raised(exc, indices[position], topic)

        # tracked before the first send: a refused record that stops the batch leaves the rest tracked
        delivery = BatchDelivery(self.producer.producer, len(payloads))
        self._pending.append((indices, delivery, size))
        self._pending_bytes += size
        self.producer.send_batch(topic, payloads, batch_keys, batch_headers, refused, delivery)

    def _batch_headers(
        self,
        kept: np.ndarray,
        offset: int,
        headers: Sequence[Headers | None] | None,
        analysis: Analysis | None,
    ) -> list[Headers | None] | None:
        """Each kept record's headers: the caller's, plus the anomaly flag where one was raised."""
        if analysis is None or analysis.flags is None or not analysis.flags.any():
            return None if headers is None else [headers[offset + i] for i in kept.tolist()]
        out: list[Headers | None] = []
        for j, i in enumerate(kept.tolist()):
            own = None if headers is None else headers[offset + i]
            if analysis.flags[j]:
                own = [*(own or []), *analysis.flag_headers(j)]
            out.append(own)
        return out

    def _send_side_outputs(
        self,
        analysis: Analysis,
        kept: np.ndarray,
        offset: int,
        keys: Sequence[bytes | None] | None,
        payloads: list[bytes],
    ) -> None:
        side = self.side_outputs
        assert side is not None
        model = [(MODEL_HEADER, self.codec.model_id.encode())]
        extra: list[tuple[str, bytes, int, Headers]] = []  # (topic, value, record index, headers)
        if analysis.flags is not None and analysis.likelihood is not None:
            flagged = np.flatnonzero(analysis.flags)
            self.metrics.anomalies.labels(*self._labels).inc(len(flagged))
            if len(analysis.likelihood):
                self.metrics.anomaly_likelihood.labels(*self._labels).set(float(analysis.likelihood[-1]))
            if side.anomalies_topic is not None:
                for j in flagged.tolist():
                    hdrs = analysis.flag_headers(j) + model
                    extra.append((side.anomalies_topic, payloads[j], offset + int(kept[j]), hdrs))
        if analysis.features is not None and side.features_topic is not None:
            for j, feature in enumerate(analysis.features):
                extra.append((side.features_topic, feature, offset + int(kept[j]), model))
        for topic, value, index, hdrs in extra:
            key = None if keys is None else keys[index]
            try:
                future = self.producer.send(topic, value=value, key=key, headers=hdrs)
            except Exception as exc:
                future = self._send_raised(exc, self._index_base + index, topic)
            if future is not None:
                size = len(value) + (len(key) if key else 0) + PENDING_RECORD_OVERHEAD
                self._pending.append((self._index_base + index, future, size))
                self._pending_bytes += size

    def _observe_quality(
        self, original: np.ndarray, decoded: np.ndarray, lengths: Sequence[int | None] | None
    ) -> None:
        if lengths is not None and any(n for n in lengths):
            mask = np.ones_like(original, dtype=bool)
            for row, n in enumerate(lengths):
                if n:
                    mask[row, n:] = False
            original, decoded = np.where(mask, original, 0), np.where(mask, decoded, 0)
        finite = np.isfinite(original).all(axis=1)
        quality = measure(original[finite], decoded[finite])
        m = self.metrics
        observe_many(m.rmse.labels(*self._labels), quality.rmse)
        observe_many(m.max_abs_error.labels(*self._labels), quality.max_abs_error)
        if np.isfinite(quality.psnr_db):
            m.psnr.labels(*self._labels).observe(quality.psnr_db)

    def _reject(
        self, data: Any, rejected: RejectedRecord, keys: Sequence[bytes | None] | None, report: SendReport
    ) -> None:
        kind = rejected.error.kind
        index = self._index_base + rejected.index  # the record's number in the caller's stream
        self.metrics.errors.labels(self.topic, kind).inc()
        report.rejected.append(RejectedRecord(index, rejected.error))
        log.warning("record %d for topic %s refused: %s", index, self.topic, rejected.error)
        if self.dead_letter_topic is None:
            return
        value = raw_value(data)
        try:
            future = self.producer.send(
                self.dead_letter_topic,
                value=value,
                key=None if keys is None else keys[rejected.index],
                headers=dead_letter_headers(rejected.error, source_topic=self.topic, index=index),
            )
        except Exception as exc:
            future = self._send_raised(exc, index, self.dead_letter_topic)
        if future is not None:
            size = len(value) + PENDING_RECORD_OVERHEAD
            self._pending.append((index, future, size))
            self._pending_bytes += size
        self.metrics.dead_letters.labels(self.topic, kind).inc()

    def _send_raised(self, exc: Exception, index: int, topic: str) -> None:
        """``producer.send`` itself raised: a record too large for ``max_request_size`` fails alone (like
        a failed future); any other error is counted and raised as :class:`SendFailedError`."""
        if _failure_kind(exc) == "too_large":
            self._send_failed(exc, index, topic)
            return None
        if isinstance(exc, LatentwireError):
            raise exc
        self.metrics.errors.labels(self.topic, "send_failed").inc()
        log.error("send of record %d to %s failed: %s", index, topic, exc)
        raise SendFailedError(
            f"send of record {index} to topic {topic} failed: {type(exc).__name__}: {exc}"
        ) from exc

    def _send_failed(self, exc: BaseException, index: int, topic: str | None = None) -> None:
        kind = _failure_kind(exc)
        self.metrics.errors.labels(self.topic, kind).inc()
        log.error("send of record %d to %s failed for good (%s): %s", index, topic or self.topic, kind, exc)
        if self.on_send_error is not None:
            self.on_send_error(exc, index)
        else:
            with self._lock:
                self._failed.append(exc)

    def _sweep(self) -> None:
        """Account for every finished send at the head of the queue (sends finish roughly in order)."""
        pending = self._pending
        while pending and pending[0][1].is_done:
            index, future, size = pending.popleft()
            self._pending_bytes -= size
            if type(future) is BatchDelivery:  # a batch: index lists its records' indices
                for position, exc in future.failures:
                    self._send_failed(exc, index[position])
            elif future.failed():
                self._send_failed(future.exception, index)

    def _wait_for_room(self) -> None:
        """Block while more than ``max_pending_bytes`` are unacknowledged (the broker is down or slow)."""
        self._sweep()
        if self._pending_bytes <= self.max_pending_bytes:
            return
        started = time.monotonic()
        log.warning(
            "%d bytes of sends to %s unacknowledged (limit %d): waiting for the broker",
            self._pending_bytes, self.topic, self.max_pending_bytes,
        )  # fmt: skip
        while self._pending and self._pending_bytes > self.max_pending_bytes // 2:
            head = self._pending[0][1]
            wait = getattr(head, "get", None)
            if wait is not None and not head.is_done:
                try:
                    wait(timeout=1.0)
                except Exception:  # noqa: S110 - failures are accounted for by the sweep below
                    pass
            else:
                time.sleep(0.01)
            self._sweep()
        self.blocked_seconds += time.monotonic() - started

    @property
    def pending_bytes(self) -> int:
        """Bytes of sends handed to Kafka and not yet acknowledged (or failed)."""
        return self._pending_bytes

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every send; raise :class:`SendFailedError` if any failed and no callback took it."""
        try:
            self.producer.flush(timeout=timeout)
        finally:
            self._sweep()
        with self._lock:
            failed, self._failed = self._failed, []
        if failed:
            raise SendFailedError(
                f"{len(failed)} send(s) to {self.topic} failed; first: {failed[0]!r}"
            ) from failed[0]

    @property
    def compression_ratio(self) -> float:
        return self._raw / max(self._payload, 1)
