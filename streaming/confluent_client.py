"""confluent-kafka clients under kafka-python's calling convention, so one batching producer and one
batching consumer drive either library.

* :func:`as_sender` gives a confluent-kafka ``Producer`` kafka-python's ``send(topic, value=, key=,
  headers=) -> future`` and ``flush(timeout=)``: each future completes from librdkafka's delivery report
  (served by ``poll``, which the sender calls every ``poll_every`` sends and while waiting). A full local
  queue (``BufferError``) is waited out, so librdkafka's ``queue.buffering.max.kbytes`` bounds memory.
* :func:`as_messages` turns confluent-kafka ``Message`` objects (from ``Consumer.consume`` or ``poll``)
  into records with kafka-python's attribute names; :func:`poll_messages` polls either client.
* :func:`consume_available` is ``Consumer.consume`` with kafka-python's ``poll`` semantics: it waits only
  for the first message and then takes what librdkafka has already fetched, where ``consume`` alone waits
  until it has ``num_messages`` or its whole timeout has passed (at the end of a topic, or between the
  bursts of a slow one, every call waits out the timeout).
* :func:`assign_known` assigns partitions after looking up their topics: assigned before librdkafka
  knows a partition's leader, the partition's first offset lookup waits out a fixed 500 ms retry.

A kafka-python client passes through both untouched. Delivery errors keep their meaning across the two
libraries: a record too large for the producer or the broker fails as kafka-python's
``MessageSizeTooLargeError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, NamedTuple

__all__ = [
    "BatchDelivery",
    "ConfluentSender",
    "ConsumedMessage",
    "DeliveryFuture",
    "as_messages",
    "as_sender",
    "assign_known",
    "consume_available",
    "poll_messages",
]

#: messages per ``Consumer.consume`` call when the caller names no number (the kafka-python rows' polls)
DEFAULT_BATCH = 4096


class ConsumedMessage(NamedTuple):
    """A consumed record with kafka-python's attribute names.

    Arguments:
        topic (str): the topic it was read from.
        partition (int): its partition.
        offset (int): its offset in the partition.
        key (bytes | None): its key.
        value (bytes | None): its value (``None`` for a tombstone).
        headers (list[tuple[str, bytes]]): its headers, in order.
        timestamp (int): its timestamp, milliseconds since the epoch.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp: int


def _delivery_error(error: Any) -> BaseException:
    """A librdkafka ``KafkaError`` as an exception, too-large records as kafka-python's error for them
    (librdkafka reports a record over its own ``message.max.bytes`` and one the broker refused with the
    same code)."""
    from confluent_kafka import KafkaError, KafkaException
    from kafka.errors import MessageSizeTooLargeError

    if error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
        return MessageSizeTooLargeError(error.str())
    return KafkaException(error)


def _serve_until_done(delivery: Any, timeout: float | None) -> None:
    """Serve the producer's callbacks until ``delivery.is_done``; raise kafka-python's
    ``KafkaTimeoutError`` if ``timeout`` seconds pass first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not delivery.is_done:
        left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
        if left <= 0:
            from kafka.errors import KafkaTimeoutError

            raise KafkaTimeoutError(f"delivery report(s) still missing after {timeout} s")
        delivery._producer.poll(left)


class DeliveryFuture:
    """The outcome of one produced record, with the parts of kafka-python's future the producer reads.

    Arguments:
        producer (confluent_kafka.Producer): the producer whose ``poll`` serves the delivery report.
    """

    __slots__ = ("_producer", "exception", "is_done")

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self.is_done = False
        self.exception: BaseException | None = None

    def __call__(self, error: Any, _message: Any) -> None:  # librdkafka's on_delivery
        if error is not None:
            self.exception = _delivery_error(error)
        self.is_done = True

    def failed(self) -> bool:
        return self.exception is not None

    def succeeded(self) -> bool:
        return self.is_done and self.exception is None

    def get(self, timeout: float | None = None) -> None:
        """Wait for the delivery report (serving the producer's callbacks); raise its error if it failed."""
        _serve_until_done(self, timeout)
        if self.exception is not None:
            raise self.exception


class BatchDelivery:
    """The delivery reports of records produced together by :meth:`ConfluentSender.send_batch`: one
    object and one report call per record instead of a :class:`DeliveryFuture` each.

    Arguments:
        producer (confluent_kafka.Producer): the producer whose ``poll`` serves the reports.
        count (int): records in the batch; each is settled by its report or, when it never reached
            librdkafka, by :meth:`cancel`.
    """

    __slots__ = ("_left", "_producer", "failures", "is_done")

    def __init__(self, producer: Any, count: int) -> None:
        self._producer = producer
        self._left = count
        #: (position in the batch, error) of every record whose delivery failed, in report order
        self.failures: list[tuple[int, BaseException]] = []
        self.is_done = count == 0

    def report(self, position: int, error: Any, _message: Any) -> None:
        """librdkafka's ``on_delivery`` of the record at ``position`` (bound with ``functools.partial``)."""
        if error is not None:
            self.failures.append((position, _delivery_error(error)))
        self.cancel(1)

    def cancel(self, count: int) -> None:
        """Settle ``count`` records that will have no report (``produce`` refused them, or never ran)."""
        self._left -= count
        if self._left <= 0:
            self.is_done = True

    def get(self, timeout: float | None = None) -> None:
        """Wait for every report (serving the producer's callbacks); failures stay in :attr:`failures`."""
        _serve_until_done(self, timeout)


class ConfluentSender:
    """kafka-python's ``send``/``flush`` over a confluent-kafka ``Producer``.

    Arguments:
        producer (confluent_kafka.Producer): the producer to drive (not a ``SerializingProducer``: the
            values are envelopes already).
        poll_every (int): serve delivery reports after this many sends, so futures complete while
            sending. Default: 1000.
    """

    def __init__(self, producer: Any, *, poll_every: int = 1000) -> None:
        from confluent_kafka import KafkaException  # imported once, not on every send

        self.producer = producer
        self.poll_every = poll_every
        self._unpolled = 0
        self._kafka_exception = KafkaException

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> DeliveryFuture:
        future = DeliveryFuture(self.producer)
        extra = {} if headers is None else {"headers": headers}
        while True:
            try:
                self.producer.produce(topic, value, key, on_delivery=future, **extra)
                break
            except BufferError:  # librdkafka's queue is full: let deliveries drain it
                self.producer.poll(0.05)
            except self._kafka_exception as exc:
                raise _delivery_error(exc.args[0]) from exc
        self._unpolled += 1
        if self._unpolled >= self.poll_every:
            self._unpolled = 0
            self.producer.poll(0)
        return future

    def send_batch(
        self,
        topic: str,
        values: Sequence[bytes],
        keys: Sequence[bytes | None] | None = None,
        headers: Sequence[list[tuple[str, bytes]] | None] | None = None,
        on_raise: Callable[[int, BaseException], None] | None = None,
        delivery: BatchDelivery | None = None,
    ) -> BatchDelivery:
        """:meth:`send` of many records, their reports gathered in one :class:`BatchDelivery` (``delivery``,
        made by the caller for ``len(values)`` records to track it before the first send, or a new one).
        A record ``produce`` refuses is handed to ``on_raise(position, error)``, which may raise to stop
        the batch (without it, the error is raised); the delivery is settled either way."""
        if delivery is None:
            delivery = BatchDelivery(self.producer, len(values))
        produce, poll, report = self.producer.produce, self.producer.poll, delivery.report
        handed = 0
        try:
            for j, value in enumerate(values):
                key = None if keys is None else keys[j]
                head = None if headers is None else headers[j]
                callback = partial(report, j)
                while True:
                    try:
                        if head is None:
                            produce(topic, value, key, on_delivery=callback)
                        else:
                            produce(topic, value, key, on_delivery=callback, headers=head)
                        refused = None
                        break
                    except BufferError:  # librdkafka's queue is full: let deliveries drain it
                        poll(0.05)
                    except self._kafka_exception as exc:
                        refused = exc
                        break
                handed += 1
                if refused is not None:
                    delivery.cancel(1)
                    error = _delivery_error(refused.args[0])
                    if on_raise is None:
                        raise error from refused
                    on_raise(j, error)
                    continue
                self._unpolled += 1
                if self._unpolled >= self.poll_every:
                    self._unpolled = 0
                    poll(0)
        finally:
            delivery.cancel(len(values) - handed)
        return delivery

    def flush(self, timeout: float | None = None) -> None:
        """Deliver everything queued; raise kafka-python's ``KafkaTimeoutError`` if ``timeout`` ran out."""
        left = self.producer.flush(-1 if timeout is None else timeout)
        if left:
            from kafka.errors import KafkaTimeoutError

            raise KafkaTimeoutError(f"{left} record(s) still undelivered after {timeout} s")

    def close(self) -> None:
        self.flush()


def as_sender(producer: Any) -> Any:
    """``producer`` with kafka-python's ``send``/``flush``: a confluent-kafka one wrapped, others as they are."""
    if producer is None or not hasattr(producer, "produce") or hasattr(producer, "send"):
        return producer
    return ConfluentSender(producer)


def as_messages(messages: Iterable[Any]) -> list[Any]:
    """Records with kafka-python's attribute names: confluent-kafka ``Message`` objects converted (an
    end-of-partition event skipped, any other error raised as ``KafkaException``), others kept."""
    out: list[Any] = []
    for msg in messages:
        if not callable(getattr(msg, "value", None)):
            out.append(msg)
            continue
        error = msg.error()
        if error is not None:
            from confluent_kafka import KafkaError, KafkaException

            if error.code() == KafkaError._PARTITION_EOF:
                continue
            raise KafkaException(error)
        out.append(
            tuple.__new__(
                ConsumedMessage,
                (  # its fields in order, without the generated __new__ per record
                    msg.topic(),
                    msg.partition(),
                    msg.offset(),
                    msg.key(),
                    msg.value(),
                    msg.headers() or [],
                    msg.timestamp()[1],
                ),
            )  # fmt: skip
        )
    return out


def consume_available(consumer: Any, max_messages: int, timeout: float) -> list[Any]:
    """Up to ``max_messages`` messages of a confluent-kafka ``Consumer``: waits up to ``timeout`` seconds
    for the first one only, then adds what is already fetched (kafka-python's ``poll`` semantics)."""
    batch = consumer.consume(num_messages=max_messages, timeout=0)
    if batch:
        return batch
    first = consumer.poll(timeout)
    if first is None:
        return []
    if max_messages == 1:
        return [first]
    return [first, *consumer.consume(num_messages=max_messages - 1, timeout=0)]


def assign_known(consumer: Any, partitions: list[Any], timeout: float = 10.0) -> None:
    """``consumer.assign(partitions)`` once librdkafka has the metadata of their topics (looked up here,
    waiting up to ``timeout`` seconds each), so each partition's first offset lookup goes out at once."""
    for topic in sorted({tp.topic for tp in partitions}):
        consumer.list_topics(topic, timeout=timeout)
    consumer.assign(partitions)


def poll_messages(consumer: Any, timeout_ms: int, max_records: int | None) -> list[Any]:
    """One poll of a kafka-python ``KafkaConsumer`` or confluent-kafka ``Consumer``, as one flat list:
    what is there now, waiting up to ``timeout_ms`` only while nothing is."""
    if hasattr(consumer, "consume"):
        return as_messages(consume_available(consumer, max_records or DEFAULT_BATCH, timeout_ms / 1000))
    batches = consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
    return [m for part in batches.values() for m in part]
