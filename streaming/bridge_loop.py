"""The consume-transform-produce loop both bridges share, exactly once with Kafka transactions.

One batch is one transaction::

    poll, poll, ... (until the commit interval) -> begin_transaction -> transform the whole batch (one
    model call) -> send outputs and dead letters -> flush, every send checked ->
    send_offsets_to_transaction(next offsets, consumer.group_metadata()) -> commit_transaction

so a batch's outputs and its input offsets become visible together or not at all. If anything fails
before the commit, the transaction is aborted and the consumer rewinds to the batch's first offsets; the
batch is processed again. Rebalances happen only inside ``poll``, when no transaction is open; a member
that lost its partitions meanwhile is fenced by the group generation in the group metadata (KIP-447),
so its late commit fails and is aborted.

The commit interval (``commit_interval_ms``, Kafka Streams' ``commit.interval.ms`` under exactly once)
gathers the records of several polls into one batch: a transaction costs about 450 bytes on the wire
whatever it holds (AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn) and the output's record
batches are only as large as the batch, so on a topic of a few events per poll a transaction per poll
would cost more than the events. Records wait in memory, with no transaction open and nothing produced:
a crash loses nothing (the input is read again from the committed offsets), and when a rebalance revokes
partitions (inside ``poll``) their waiting records are dropped and, if the partition stays with this
member (kafka-python keeps its position), it is read again from its committed offset. 0 commits every
poll batch. With ``exactly_once=False`` the loop produces, flushes, checks
every send and then commits the offsets (at least once: a crash between flush and commit repeats
the batch).

Records the transform cannot handle go to the dead-letter topic inside the same transaction, with
headers saying why, where they came from, and the record's own headers; the loop goes on.

A transform that holds records across batches (windows of events, see :mod:`streaming.window_ledger`)
returns its records in ``TransformResult.produce`` and the offsets to commit (with metadata) in
``TransformResult.offsets``, and has the hooks of :class:`Windowed`: the loop tells it the committed
offset of each partition it first reads, the partitions revoked in a rebalance, asks it where to read from
again after an abort (``rewind``), and lets it flush windows that are due when no input arrives (``due``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from compressor.errors import (
    BundleError,
    DataError,
    EnvelopeError,
    LatentwireError,
    UnknownModelError,
    error_kinds,
)
from streaming import failpoints
from streaming.dead_letters import dead_letter_headers
from streaming.health import Health
from streaming.metrics import BridgeMetrics, observe_many
from streaming.transaction_start import begin_transaction

__all__ = ["BridgeLoop", "Output", "Produce", "Rejected", "TransformResult", "Windowed"]

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]

#: the error kinds a bridge can dead-letter: those of data, envelope and model errors
DEAD_LETTER_KINDS = error_kinds(DataError, EnvelopeError, UnknownModelError, BundleError)


#: seconds a transactional call may take before the bridge gives up on it and exits (kafka-python waits
#: for the answers to send_offsets_to_transaction, commit_transaction and abort_transaction without a
#: timeout; a request lost with a broker that died can leave it waiting forever)
STUCK_SECONDS = 60.0
#: exit status then (sysexits' EX_TEMPFAIL): a supervisor starts a new copy, whose init_transactions fences
#: this one and aborts its open transaction, so nothing is lost or duplicated
EXIT_STUCK = 75
#: seconds to wait after a poll that failed with a retriable error
POLL_RETRY_SECONDS = 0.5
#: a batch gathered over the commit interval is processed once it holds this many value bytes
MAX_BATCH_BYTES = 16 * 1024 * 1024


@contextlib.contextmanager
def exit_if_stuck(seconds: float, what: str) -> Iterator[None]:
    """Exit the process (status :data:`EXIT_STUCK`) if the block has not finished after ``seconds``."""

    def give_up() -> None:
        log.critical(
            "%s has not returned for %.0f s; exiting (status %d) so that a new copy takes over",
            what, seconds, EXIT_STUCK,
        )  # fmt: skip
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(EXIT_STUCK)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class Output(NamedTuple):
    """A record to produce.

    Arguments:
        value (bytes | None): its value (None, a tombstone).
        headers (list[tuple[str, bytes]]): its headers.
    """

    value: bytes | None
    headers: Headers


class Produce(NamedTuple):
    """A record to produce that is not one input's own output (a window, or one of a window's events).

    Arguments:
        value (bytes | None): its value.
        key (bytes | None): its key.
        timestamp (int): its timestamp (ms).
        headers (list[tuple[str, bytes]]): its headers.
        partition (int): the input partition it comes from (the output keeps it when the topics have as
            many partitions).
    """

    value: bytes | None
    key: bytes | None
    timestamp: int
    headers: Headers
    partition: int


class Rejected(NamedTuple):
    """An input record that goes to the dead-letter topic.

    Arguments:
        error (LatentwireError): why; its ``kind`` labels the metrics and the header.
    """

    error: LatentwireError


@dataclass
class TransformResult:
    """What a transform made of one batch.

    Arguments:
        items (list[Output | Rejected | None]): one entry per input message, in order: what to produce, why
            not, or None (held in a window, or produced through ``produce``).
        output_bytes (int): value bytes produced. Default: 0.
        on_commit (Callable[[], None] | None): called once the batch is committed: metrics that must not
            count a batch twice go here. Default: None.
        produce (list[Produce]): more records, produced before ``items``' outputs, in order. Default: none.
        offsets (dict | None): ``TopicPartition -> (offset, metadata)`` to commit instead of the offsets
            after the batch's last records. Default: None.
        latencies (list[float] | None): the record latencies (s) to observe instead of those of the batch's
            records (a windowed transform delivers other records than it read). Default: None.
    """

    items: list[Output | Rejected | None]
    output_bytes: int = 0
    #: called once the batch is committed: metrics that must not count a batch twice go here
    on_commit: Callable[[], None] | None = None
    produce: list[Produce] = field(default_factory=list)
    offsets: dict[Any, tuple[int, str]] | None = None
    latencies: list[float] | None = None


@runtime_checkable
class Windowed(Protocol):
    """The hooks of a transform that holds records across batches (see the module docstring)."""

    #: longest wait in poll (ms), so that due windows are flushed in time
    poll_timeout_ms: int

    def known(self, tp: Any) -> bool:
        """True if ``tp`` was assigned (and not revoked since)."""

    def assign(self, tp: Any, committed: Any, first_offset: int) -> None:
        """``tp`` is read from here on; ``committed`` is its ``OffsetAndMetadata`` (or None)."""

    def revoke(self, tps: Any) -> None:
        """``tps`` went to another member: forget what is held of them."""

    def rewind(self) -> dict[Any, int]:
        """After an abort: back to the last commit; the offset to read each partition from again."""

    def due(self) -> bool:
        """True if something held must be produced now (called when no input arrived)."""


Transform = Callable[[list[Any]], TransformResult]


class BridgeLoop:
    """Consume, transform and produce in batches, each batch in one Kafka transaction with its offsets.

    Arguments:
        consumer (KafkaConsumer): reads the input topic (no auto-commit).
        producer (KafkaProducer): writes outputs and dead letters (transactional with ``exactly_once``).
        transform (Callable[[list], TransformResult]): turns one poll batch into outputs.
        bridge (str): ``"compress"`` or ``"decompress"`` (a metric label).
        input_topic (str): the topic read.
        output_topic (str): the topic written.
        dead_letter_topic (str): where rejected records go.
        exactly_once (bool): commit offsets inside the producer's transaction. Default: True.
        metrics (BridgeMetrics | None): where batches, errors and bytes are counted.
            Default: None, the instance shared on the default Prometheus registry.
        health (Health | None): the heartbeat and readiness it reports to. Default: None, its own.
        stuck_seconds (float): how long a transactional call may take before the process exits with
            status 75 (:func:`exit_if_stuck`). Default: 60.
        new_producer (Callable[[], KafkaProducer] | None): makes a replacement producer, ready to use
            (transactions initialized), when the current one can neither commit nor abort a transaction:
            the loop then closes the old one, uses the new one (the same transactional id fences the old
            epoch) and reads the batch again. Default: None, the error ends the loop (and the process
            relies on a supervisor to start again).
        commit_interval_ms (int): gather the records of the polls of this many ms into one transaction;
            0: one transaction per poll batch. Default: 0.
        max_batch_records (int): a gathered batch is processed as soon as it holds this many records (or
            :data:`MAX_BATCH_BYTES` value bytes), before the interval ends: a backlog is still read in
            batches of a poll's size. Default: 2000.
    """

    def __init__(
        self,
        consumer: Any,
        producer: Any,
        transform: Transform,
        *,
        bridge: str,
        input_topic: str,
        output_topic: str,
        dead_letter_topic: str,
        exactly_once: bool = True,
        metrics: BridgeMetrics | None = None,
        health: Health | None = None,
        stuck_seconds: float = STUCK_SECONDS,
        new_producer: Callable[[], Any] | None = None,
        commit_interval_ms: int = 0,
        max_batch_records: int = 2000,
    ) -> None:
        self.stuck_seconds = stuck_seconds
        self.commit_interval = max(0, commit_interval_ms) / 1000
        self.max_batch_records = max_batch_records
        self.new_producer = new_producer
        self.consumer = consumer
        self.producer = producer
        self.transform = transform
        self.bridge = bridge
        self.input_topic = input_topic
        self.output_topic = output_topic
        self.dead_letter_topic = dead_letter_topic
        self.exactly_once = exactly_once
        self.metrics = metrics or BridgeMetrics.get()
        self.health = health or Health()
        self.processed = 0
        self.dead_lettered = 0
        self.aborted = 0
        self._same_partitions: bool | None = None
        #: partitions of an aborted batch whose next records must start where the batch did (see _resync)
        self._rewound: dict[Any, int] = {}
        #: records read and not yet processed (the batch the commit interval gathers), and since when
        self._pending: list[Any] = []
        self._pending_bytes = 0
        self._pending_since = 0.0
        #: per partition, the offset this loop last committed (or the first it read): where a partition
        #: revoked while records of it waited is read again from when the committed offset is unknown
        self._restart: dict[Any, int] = {}
        m, labels = self.metrics, (bridge, input_topic)
        for outcome in ("committed", "aborted"):
            m.batches.labels(*labels, outcome).inc(0)
        # series exist from the start, so increase() sees the first dead letter
        for kind in DEAD_LETTER_KINDS:
            m.errors.labels(*labels, kind).inc(0)
            m.dead_letters.labels(*labels, kind).inc(0)
        m.input_bytes.labels(*labels).inc(0)
        m.output_bytes.labels(*labels).inc(0)

    def _keep_partition(self) -> bool:
        """Send each output to its input's partition when both topics have as many partitions: the
        output then keeps the input's per-partition order exactly; otherwise keys decide."""
        if self._same_partitions is None:
            outputs = self.producer.partitions_for(self.output_topic) or set()
            inputs = self.consumer.partitions_for_topic(self.input_topic) or set()
            self._same_partitions = bool(inputs) and len(outputs) == len(inputs)
        return self._same_partitions

    def run(
        self,
        stop: Any,
        *,
        idle_timeout: float | None = None,
        poll_timeout_ms: int = 500,
        on_batch: Callable[[], None] | None = None,
    ) -> None:
        """Process batches until ``stop`` is truthy (checked between polls) or ``idle_timeout``; records
        still waiting for the commit interval are processed before it returns."""
        last_data = time.monotonic()
        self._output_metadata()
        windowed = isinstance(self.transform, Windowed)
        if windowed or self.commit_interval:
            self._listen()
        if windowed:
            poll_timeout_ms = min(poll_timeout_ms, self.transform.poll_timeout_ms)  # type: ignore[attr-defined]

        def process(messages: list[Any]) -> None:
            self.process(messages)
            if on_batch is not None:
                on_batch()

        while not stop:
            self.health.beat()
            batches = self._poll(self._poll_timeout(poll_timeout_ms))
            if batches is None:
                continue
            if self._rewound:
                batches = self._resync(batches)
            self.health.set_check("broker", True)
            messages = [m for part in batches.values() for m in part]
            if messages:
                self._gather(messages)
                # idleness counts from the end of a batch: a batch that takes longer than the idle timeout
                # to code is not idleness, and the windows it opened are due (and sent) before the loop stops
                last_data = time.monotonic()
            if self._pending and self._batch_due():
                process(self._take())
                last_data = time.monotonic()
                continue
            if messages:
                continue
            if windowed and not self._pending and self.transform.due():  # type: ignore[attr-defined]
                process([])
                continue
            if idle_timeout is not None and time.monotonic() - last_data > idle_timeout:
                if not self._pending:
                    return
                process(self._take())  # idle: what waits goes now (and is read again if it aborts)
                last_data = time.monotonic()
        if self._pending:
            process(self._take())

    def _gather(self, messages: list[Any]) -> None:
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.extend(messages)
        self._pending_bytes += sum(len(m.value) for m in messages if m.value is not None)

    def _take(self) -> list[Any]:
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        return batch

    def _batch_due(self) -> bool:
        """The gathered records are processed now: the commit interval has passed since the first of them
        was read, or they are as many as a full poll."""
        return (
            time.monotonic() - self._pending_since >= self.commit_interval
            or len(self._pending) >= self.max_batch_records
            or self._pending_bytes >= MAX_BATCH_BYTES
        )

    def _poll_timeout(self, timeout_ms: int) -> int:
        """The poll waits at most until the gathered batch is due."""
        if not self._pending:
            return timeout_ms
        left = self._pending_since + self.commit_interval - time.monotonic()
        return max(0, min(timeout_ms, int(left * 1000) + 1))

    def _output_metadata(self) -> None:
        """Fetch the output topic's metadata once at the start, a cost of starting like the producer's
        other requests then (the first batch would fetch it otherwise); if it fails, the first batch tries
        again."""
        from kafka.errors import KafkaError

        try:
            self.producer.partitions_for(self.output_topic)
        except KafkaError as exc:
            log.warning("metadata of %s not fetched yet: %r", self.output_topic, exc)

    def _poll(self, timeout_ms: int) -> dict[Any, list[Any]] | None:
        """One poll; None if it failed with a retriable error (kafka-python's consumer can raise
        ``KafkaConnectionError`` from ``poll`` while the nodes it needs are down: no transaction is open
        and no position moved, so the loop waits a moment and polls again, as the Java client would)."""
        from kafka.errors import KafkaError

        try:
            return dict(self.consumer.poll(timeout_ms=timeout_ms))
        except KafkaError as exc:
            if not exc.retriable:
                raise
            self.health.set_check("broker", False, f"poll failed: {exc!r}")
            log.warning("poll of %s failed, polling again: %r", self.input_topic, exc)
            time.sleep(POLL_RETRY_SECONDS)
            return None

    def _listen(self) -> None:
        """Subscribe with a listener that hears which partitions a rebalance takes away (inside ``poll``,
        with no transaction open): a windowed transform forgets what it holds of them, the records of them
        waiting for the commit interval are dropped, and each is read again from its committed offset if
        it comes back (see :meth:`_revoked`)."""
        from kafka import ConsumerRebalanceListener

        loop = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                loop._revoked(revoked)

            def on_partitions_assigned(self, assigned: Any) -> None:
                pass

        self.consumer.subscribe([self.input_topic], listener=Listener())

    def _revoked(self, revoked: Any) -> None:
        """kafka-python keeps the position of a partition that a rebalance revokes and assigns again
        (eager and cooperative alike), so what was read of it and not committed (records waiting for the
        commit interval, events in open windows) would be skipped: its next records are processed only if
        they start at its committed offset (the check of :meth:`_resync`)."""
        from kafka.structs import TopicPartition

        revoked = set(revoked)
        windowed = isinstance(self.transform, Windowed)
        if windowed:
            self.transform.revoke(revoked)  # type: ignore[attr-defined]
        waiting: dict[Any, int] = {}
        for msg in self._pending:
            waiting.setdefault(TopicPartition(msg.topic, msg.partition), msg.offset)
        for tp in revoked:
            if windowed or tp in waiting:
                self._rewound.setdefault(tp, waiting.get(tp, self._restart.get(tp, 0)))
        kept = [m for m in self._pending if TopicPartition(m.topic, m.partition) not in revoked]
        if len(kept) != len(self._pending):
            log.warning(
                "rebalance: %d records of revoked partitions were waiting to be processed; they are read "
                "again from the committed offsets",
                len(self._pending) - len(kept),
            )
            since, self._pending = self._pending_since, []
            self._pending_bytes = 0
            if kept:
                self._gather(kept)
                self._pending_since = since

    def process(self, messages: list[Any]) -> bool:
        """Transform and commit one batch; False if it was aborted (and will be read again)."""
        from kafka.structs import OffsetAndMetadata, TopicPartition

        m, labels = self.metrics, (self.bridge, self.input_topic)
        first: dict[Any, int] = {}
        last: dict[Any, int] = {}
        for msg in messages:
            tp = TopicPartition(msg.topic, msg.partition)
            first.setdefault(tp, msg.offset)
            last[tp] = msg.offset
        for tp, offset in first.items():
            self._restart.setdefault(tp, offset)
        offsets = {tp: OffsetAndMetadata(off + 1, "", -1) for tp, off in last.items()}
        windowed = isinstance(self.transform, Windowed)
        if windowed:
            for tp, offset in first.items():
                if not self.transform.known(tp):  # type: ignore[attr-defined]
                    committed = self.consumer.committed(tp, metadata=True)
                    self.transform.assign(tp, committed, offset)  # type: ignore[attr-defined]
        began = False
        try:
            if self.exactly_once and not windowed:
                begin_transaction(self.producer)
                began = True
            started = time.perf_counter()
            result = self.transform(messages)
            m.batch_seconds.labels(*labels).observe(time.perf_counter() - started)
            if windowed and not result.produce and all(item is None for item in result.items):
                # everything read waits in windows: nothing to produce, and no need to commit (a restart
                # reads it again from the last commit)
                self.processed += len(messages)
                return True
            if self.exactly_once and not began:
                begin_transaction(self.producer)
                began = True
            if result.offsets is not None:
                offsets = {tp: OffsetAndMetadata(off, meta, -1) for tp, (off, meta) in result.offsets.items()}
            futures = self._send(messages, result)
            committed_at = time.perf_counter()
            if self.exactly_once:
                with exit_if_stuck(self.stuck_seconds, "committing the transaction"):
                    self._delivered(futures)
                    self.producer.send_offsets_to_transaction(offsets, self.consumer.group_metadata())
                    self.producer.commit_transaction()
            else:
                self._delivered(futures)
                failpoints.hit("bridge-before-commit")  # a crash here repeats the batch
                self.consumer.commit(offsets)
            m.commit_seconds.labels(*labels).observe(time.perf_counter() - committed_at)
            self._restart.update({tp: meta.offset for tp, meta in offsets.items()})
        except Exception as exc:
            self._abort(exc, self.transform.rewind() if windowed else first, began)  # type: ignore[attr-defined]
            return False
        now_ms = time.time() * 1000
        latency = m.record_latency.labels(*labels)
        if result.latencies is not None:
            observe_many(latency, result.latencies)
        else:
            observe_many(
                latency,
                [max(0.0, (now_ms - msg.timestamp) / 1000) for msg in messages if msg.timestamp >= 0],
            )
        m.batches.labels(*labels, "committed").inc()
        m.input_bytes.labels(*labels).inc(sum(len(msg.value) for msg in messages if msg.value is not None))
        if result.on_commit is not None:
            result.on_commit()
        m.output_bytes.labels(*labels).inc(result.output_bytes)
        rejected = sum(isinstance(item, Rejected) for item in result.items)
        self.processed += len(messages) - rejected
        self.dead_lettered += rejected
        return True

    def _delivered(self, futures: list[Any]) -> None:
        """Wait until every send of the batch is acknowledged; raise the first failure.

        Also in a transaction: kafka-python fails a transactional batch that can no longer be retried
        (its delivery timeout passed, or the producer epoch was bumped meanwhile) without making the
        transaction abortable, so ``commit_transaction`` would commit the input offsets without those
        records. Checking every send first turns that into an abort, and the batch is read again."""
        self.producer.flush()
        for future in futures:
            future.get(timeout=0)  # raises the send's error, if any

    def _send(self, messages: list[Any], result: TransformResult) -> list[Any]:
        if len(result.items) != len(messages):
            raise RuntimeError(f"transform returned {len(result.items)} results for {len(messages)} records")
        futures: list[Any] = []
        keep = self._keep_partition()
        m = self.metrics

        def emit(value: bytes, key: bytes | None, headers: Headers, partition: int, timestamp: int) -> Any:
            return self.producer.send(
                self.output_topic,
                value=value,
                key=key,
                headers=headers,
                partition=partition if keep else None,
                timestamp_ms=timestamp,
            )

        for record in result.produce:
            futures.append(emit(record.value, record.key, record.headers, record.partition, record.timestamp))
        for msg, item in zip(messages, result.items, strict=True):
            if item is None:
                continue
            if isinstance(item, Output):
                futures.append(emit(item.value, msg.key, item.headers, msg.partition, msg.timestamp))
                continue
            error = item.error
            log.warning(
                "%s[%d]@%d: %s -> %s", msg.topic, msg.partition, msg.offset, error, self.dead_letter_topic
            )
            headers = dead_letter_headers(
                error, source_topic=msg.topic, partition=msg.partition, offset=msg.offset
            )
            futures.append(
                self.producer.send(
                    self.dead_letter_topic,
                    value=msg.value,
                    key=msg.key,
                    headers=list(msg.headers or []) + headers,
                )
            )
            m.errors.labels(self.bridge, self.input_topic, error.kind).inc()
            m.dead_letters.labels(self.bridge, self.input_topic, error.kind).inc()
        return futures

    def _abort(self, exc: Exception, first: dict[Any, int], began: bool = True) -> None:
        from kafka.errors import AuthorizationError, ProducerFencedError

        self.aborted += 1
        self.metrics.batches.labels(self.bridge, self.input_topic, "aborted").inc()
        if isinstance(exc, ProducerFencedError):
            log.error("another bridge with this transactional id took over: %s", exc)
            raise exc
        if isinstance(exc, AuthorizationError):  # retrying cannot help: stop and say so
            log.error("the broker refused this bridge an operation: %r", exc)
            if self.exactly_once and began:
                with contextlib.suppress(Exception):
                    self.producer.abort_transaction()
            raise exc
        log.warning("batch of %s aborted, it will be read again: %r", self.input_topic, exc)
        if self.exactly_once and began:
            try:
                with exit_if_stuck(self.stuck_seconds, "aborting the transaction"):
                    self.producer.abort_transaction()
            except Exception as abort_exc:  # the producer is in a fatal state
                if self.new_producer is None:
                    log.error("cannot abort the transaction: %r", abort_exc)
                    raise abort_exc from exc
                self._replace_producer(abort_exc)
        assigned = self.consumer.assignment()
        for tp, offset in first.items():
            self._rewound[tp] = offset
            if tp in assigned:
                self.consumer.seek(tp, offset)

    def _resync(self, batches: dict[Any, list[Any]]) -> dict[Any, list[Any]]:
        """Records of a partition whose batch was aborted, or that a rebalance revoked while records of it
        were held (see :meth:`_revoked`), are processed only if they start at the partition's committed
        offset. After an outage the consumer may have lost its group membership
        when the batch aborted, so the seek back could not be applied (the partition was not assigned at
        that moment) and the rejoined consumer kept reading after the aborted batch: committing the next
        batch would then skip the aborted records (seen in a fault run: 3,050 records lost). Such records
        are dropped and the partition is sought to its committed offset, so they are read again."""
        from kafka.errors import KafkaError

        for tp in [tp for tp in batches if tp in self._rewound]:
            fallback = self._rewound.pop(tp)
            try:
                committed = self.consumer.committed(tp)
            except KafkaError as exc:  # the coordinator is unreachable: read again from the batch's start
                log.warning("%s[%d]: committed offset unknown (%r)", tp.topic, tp.partition, exc)
                committed = None
            start = fallback if committed is None else committed
            got = batches[tp][0].offset if batches[tp] else start
            if got > start:  # records between the committed offset and these would be skipped
                log.warning(
                    "%s[%d]: records from offset %d after an aborted batch or a rebalance, the committed "
                    "offset is %d: "
                    "reading again from there (a transaction marker there is skipped again)",
                    tp.topic, tp.partition, got, start,
                )  # fmt: skip
                self.consumer.seek(tp, start)
                del batches[tp]
        return batches

    def _replace_producer(self, reason: Exception) -> None:
        """Swap an unusable producer for a new one with the same transactional id. The broker aborts the
        old producer's open transaction when the new one initializes, so nothing of the failed batch is
        ever committed; the caller then reads the batch again."""
        assert self.new_producer is not None
        log.warning("the producer can neither commit nor abort (%r): replacing it", reason)
        old = self.producer
        with contextlib.suppress(Exception):
            old.close(timeout=0)
        with exit_if_stuck(self.stuck_seconds, "starting a new producer"):
            self.producer = self.new_producer()
        self._same_partitions = None
        self.metrics.producer_replacements.labels(self.bridge, self.input_topic).inc()
