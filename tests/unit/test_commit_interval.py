"""The bridge loop's commit interval against a small in-memory Kafka: several polls in one transaction, a
crash while records wait (nothing lost, nothing repeated), a rebalance while records wait (kafka-python keeps
the position of a partition it gets back, so the waiting records must be read again from the commit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from kafka.structs import OffsetAndMetadata, TopicPartition
from prometheus_client import CollectorRegistry

from streaming.bridge_loop import BridgeLoop, Output, TransformResult
from streaming.metrics import BridgeMetrics

TOPIC = "in"
TPS = [TopicPartition(TOPIC, p) for p in range(2)]


class Crash(Exception):
    """The process dies (SIGKILL): nothing after it runs."""


@dataclass
class Kafka:
    """Two input partitions, their committed offsets, and what committed transactions wrote."""

    log: dict[Any, list[SimpleNamespace]]
    committed: dict[Any, int] = field(default_factory=dict)
    metadata: dict[Any, str] = field(default_factory=dict)
    output: list[bytes] = field(default_factory=list)
    records: list[SimpleNamespace] = field(default_factory=list)
    transactions: int = 0

    @classmethod
    def with_records(cls, per_partition: int) -> Kafka:
        return cls(
            {
                tp: [
                    SimpleNamespace(
                        topic=TOPIC,
                        partition=tp.partition,
                        offset=o,
                        key=None,
                        headers=[],
                        timestamp=1,
                        value=f"{tp.partition}:{o}".encode(),
                    )  # fmt: skip
                    for o in range(per_partition)
                ]
                for tp in TPS
            }
        )


class Consumer:
    """Hands out up to ``step`` records per partition per poll from its positions (the committed offsets
    at the start). ``events`` maps a poll's number to what happens in it: ``"crash"``, or a pair (revoked,
    kept) of a rebalance, which calls the listener and, as kafka-python does, keeps the positions of the
    partitions it assigns again."""

    def __init__(self, kafka: Kafka, step: int, events: dict[int, Any] | None = None) -> None:
        self.kafka, self.step, self.events = kafka, step, events or {}
        self.assigned = list(TPS)
        self.position = {tp: kafka.committed.get(tp, 0) for tp in TPS}
        self.polls = 0
        self.listener: Any = None

    def subscribe(self, topics: list[str], listener: Any = None) -> None:
        self.listener = listener

    def poll(self, timeout_ms: int) -> dict:
        self.polls += 1
        event = self.events.get(self.polls)
        if event == "crash":
            raise Crash()
        if event is not None:
            revoked, kept = event
            self.listener.on_partitions_revoked(set(revoked))
            self.assigned = list(kept)
        out = {}
        for tp in self.assigned:
            records = self.kafka.log[tp][self.position[tp] : self.position[tp] + self.step]
            if records:
                out[tp] = records
                self.position[tp] = records[-1].offset + 1
        return out

    def committed(self, tp: Any, metadata: bool = False) -> Any:
        offset = self.kafka.committed.get(tp)
        if not metadata or offset is None:
            return offset
        return OffsetAndMetadata(offset, self.kafka.metadata.get(tp, ""), -1)

    def seek(self, tp: Any, offset: int) -> None:
        self.position[tp] = offset

    def assignment(self) -> set[Any]:
        return set(self.assigned)

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1}

    def group_metadata(self) -> object:
        return object()


class Producer:
    """Transactions: what is sent becomes output, and the offsets committed, only at the commit."""

    def __init__(self, kafka: Kafka) -> None:
        self.kafka = kafka
        self.sent: list[SimpleNamespace] = []
        self.offsets: dict[Any, OffsetAndMetadata] = {}

    def begin_transaction(self) -> None:
        self.sent, self.offsets = [], {}

    def send(self, topic: str, value: bytes, **kw: Any) -> SimpleNamespace:
        self.sent.append(SimpleNamespace(value=value, **kw))
        return SimpleNamespace(get=lambda timeout: None)

    def flush(self) -> None:
        pass

    def send_offsets_to_transaction(self, offsets: dict, group: object) -> None:
        self.offsets = dict(offsets)

    def commit_transaction(self) -> None:
        self.kafka.records.extend(self.sent)
        self.kafka.output.extend(r.value for r in self.sent)
        self.kafka.committed.update({tp: meta.offset for tp, meta in self.offsets.items()})
        self.kafka.metadata.update({tp: meta.metadata for tp, meta in self.offsets.items()})
        self.kafka.transactions += 1

    def abort_transaction(self) -> None:
        self.sent = []

    def partitions_for(self, topic: str) -> set[int]:
        return {0, 1}


def _copy(msgs: list) -> TransformResult:
    return TransformResult([Output(m.value, []) for m in msgs])


def _run(
    kafka: Kafka, consumer: Consumer, interval_ms: int, transform: Any = _copy, cap: int = 2000
) -> BridgeLoop:
    loop = BridgeLoop(
        consumer, Producer(kafka), transform,
        bridge="compress", input_topic=TOPIC, output_topic="out", dead_letter_topic="in.dlq",
        metrics=BridgeMetrics.get(CollectorRegistry()), commit_interval_ms=interval_ms, max_batch_records=cap,
    )  # fmt: skip
    loop.run(False, idle_timeout=0.05, poll_timeout_ms=1)
    return loop


def _exactly_once(kafka: Kafka) -> None:
    """Every input record is in the output once, each partition's in order."""
    for tp in TPS:
        mine = [v for v in kafka.output if v.startswith(f"{tp.partition}:".encode())]
        assert mine == [r.value for r in kafka.log[tp]], f"partition {tp.partition}"


def test_the_polls_of_an_interval_are_one_transaction() -> None:
    for interval, transactions in ((0, 5), (60_000, 1)):
        kafka = Kafka.with_records(20)
        _run(kafka, Consumer(kafka, step=4), interval)
        _exactly_once(kafka)
        assert kafka.transactions == transactions


def test_a_full_batch_is_committed_before_the_interval() -> None:
    cap = 16
    kafka = Kafka.with_records(20)
    _run(kafka, Consumer(kafka, step=4), 60_000, cap=cap)
    _exactly_once(kafka)
    assert kafka.transactions == 3  # 16, 16 and the last 8 when the input ends


@pytest.mark.parametrize("crash_at", [2, 3, 4, 5])
def test_a_crash_while_records_wait_loses_and_repeats_nothing(crash_at: int) -> None:
    cap = 12  # a commit every second poll
    kafka = Kafka.with_records(30)
    with pytest.raises(Crash):
        _run(kafka, Consumer(kafka, step=3, events={crash_at: "crash"}), 60_000, cap=cap)
    done = len(kafka.output)
    assert done % 12 == 0 and done < 60  # only whole batches were committed; the waiting records were not
    _run(kafka, Consumer(kafka, step=3), 60_000, cap=cap)  # a new copy starts from the committed offsets
    _exactly_once(kafka)


@pytest.mark.parametrize("at_poll", [2, 3, 4])
def test_a_rebalance_while_records_wait_loses_and_repeats_nothing(at_poll: int) -> None:
    """Both partitions are revoked while records of both wait; partition 0 comes back to this copy (its
    position kept, after the records that waited), partition 1 goes to another copy."""
    cap = 12
    kafka = Kafka.with_records(30)
    _run(kafka, Consumer(kafka, step=3, events={at_poll: (TPS, [TPS[0]])}), 60_000, cap=cap)
    partition0 = [v for v in kafka.output if v.startswith(b"0:")]
    assert partition0 == [r.value for r in kafka.log[TPS[0]]]
    other = Consumer(kafka, step=3)
    other.assigned = [TPS[1]]
    _run(kafka, other, 60_000, cap=cap)
    _exactly_once(kafka)


@pytest.mark.parametrize("at_poll", [3, 5])
def test_a_rebalance_while_windows_are_open_loses_and_repeats_nothing(at_poll: int) -> None:
    """The event bridge's windows across a rebalance: the partition that comes back is read again from its
    commit (whose metadata names the open windows), the other one by another copy."""
    from tests.unit.test_event_transforms import _compress, _events, _messages, _restore, _same, _schema

    cap = 20
    schema = _schema()
    events = _events(240, keys=4, seed=5)
    parts = _messages(events, 2)
    kafka = Kafka(
        {tp: [SimpleNamespace(**m._asdict()) for m in part] for tp, part in zip(TPS, parts, strict=True)}
    )
    for part in kafka.log.values():
        for m in part:
            m.topic = TOPIC

    def run(consumer: Consumer) -> None:
        """Until the input ends, then once more with every open window due."""
        transform = _compress(schema, 8, fallback=False, max_delay_ms=60_000)
        _run(kafka, consumer, 60_000, transform, cap)
        for window in transform.windows.values():
            window.arrived = -1e9
        _run(kafka, consumer, 60_000, transform, cap)
        assert not transform.windows

    run(Consumer(kafka, step=7, events={at_poll: (TPS, [TPS[0]])}))
    other = Consumer(kafka, step=7)
    other.assigned = [TPS[1]]
    run(other)
    produced = [
        SimpleNamespace(
            partition=r.partition, key=r.key, value=r.value, timestamp=r.timestamp_ms, headers=r.headers
        )
        for r in kafka.records
    ]
    restored = _restore(schema, produced)
    for key in {ev.key for ev in events}:
        mine = [ev for ev in events if ev.key == key]
        back = [ev for ev in restored if ev.key == key]
        assert len(back) == len(mine), key
        assert all(_same(a, b) for a, b in zip(mine, back, strict=True))
