"""The event bridges' transforms without a broker: windows, commits, crashes, pass-through."""

from __future__ import annotations

import json
import random
from collections import namedtuple
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from compressor.bundle import event_bundle
from compressor.envelope import MAGIC
from compressor.events import Event, EventCoder, EventSchema
from consumers.event_decompress import EventDecompressTransform
from consumers.resolver import ModelResolver
from producers.event_compress import EventCompressTransform
from streaming.bridge_loop import Windowed
from streaming.metrics import BridgeMetrics
from streaming.window_ledger import MAX_OPEN, PartitionLedger, key_tag

Msg = namedtuple("Msg", "topic partition offset key value timestamp headers")
Committed = namedtuple("Committed", "offset metadata")
TOPIC = "events"


def _events(n: int, keys: int = 5, seed: int = 0) -> list[Event]:
    rng = np.random.default_rng(seed)
    level = rng.normal(50, 5, keys)
    out = []
    for i in range(n):
        k = int(rng.integers(0, keys))
        level[k] += rng.normal(0, 0.3)
        value = {"device_id": f"d{k}", "ts": 1000 * i, "values": [round(float(level[k] + rng.normal(0, 0.1)), 2) for _ in range(4)], "status": "ok"}  # fmt: skip
        headers = (("trace", str(i).encode()),) if i % 7 == 0 else ()
        out.append(Event(json.dumps(value).encode(), f"d{k}".encode(), 1_700_000_000_000 + i, headers))
    return out


def _messages(events: list[Event], partitions: int) -> list[list[Msg]]:
    parts: list[list[Msg]] = [[] for _ in range(partitions)]
    for ev in events:
        p = int(ev.key[1:]) % partitions  # type: ignore[index]
        parts[p].append(Msg(TOPIC, p, len(parts[p]), ev.key, ev.value, ev.timestamp, list(ev.headers)))
    return parts


def _schema() -> EventSchema:
    return EventSchema.learn(_events(300, seed=1))


def _compress(schema: EventSchema, window: int, **kw: Any) -> EventCompressTransform:
    return EventCompressTransform(
        EventCoder(schema, 0.01),
        b"\x01\x02\x03\x04",
        TOPIC,
        window_events=window,
        metrics=BridgeMetrics.get(CollectorRegistry()),
        **kw,
    )


def _restore(schema: EventSchema, records: list[Any]) -> list[Event]:
    bundle = event_bundle(schema)
    bundle.model_id = "01020304" + "0" * 56
    decompress = EventDecompressTransform(
        ModelResolver([bundle]), "packed", metrics=BridgeMetrics.get(CollectorRegistry())
    )
    msgs = [
        Msg("packed", p.partition, i, p.key, p.value, p.timestamp, p.headers) for i, p in enumerate(records)
    ]
    result = decompress(msgs)
    assert all(item is None for item in result.items)
    return [Event(p.value, p.key, p.timestamp, tuple(p.headers)) for p in result.produce]


def _same(a: Event, b: Event) -> bool:
    """Equal up to the readings, which stay within the bound."""
    if (a.key, a.timestamp, a.headers) != (b.key, b.timestamp, b.headers):
        return False
    x, y = json.loads(a.value), json.loads(b.value)  # type: ignore[arg-type]
    return (
        list(x) == list(y)
        and {k: v for k, v in x.items() if k != "values"} == {k: v for k, v in y.items() if k != "values"}
        and np.allclose(x["values"], y["values"], atol=0.5)
    )


def test_the_transform_has_the_windowed_hooks() -> None:
    assert isinstance(_compress(_schema(), 8), Windowed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_windows_survive_crashes_and_aborts_exactly_once(seed: int) -> None:
    """Batches are committed or lost (crash or abort) at random; after each loss a new transform starts from
    the committed offsets and metadata. Every event comes out exactly once, each key in order."""
    schema = _schema()
    events = _events(700, seed=10 + seed)
    parts = _messages(events, 2)
    rng = random.Random(seed)
    committed: dict[Any, Committed] = {}
    output: list[Any] = []
    transform = _compress(schema, 16, fallback=False, max_delay_ms=10_000)
    position = {p: 0 for p in range(2)}
    rounds = 0
    while any(position[p] < len(parts[p]) for p in range(2)) or transform.windows:
        rounds += 1
        assert rounds < 2000
        batch = []
        for p in range(2):
            take = rng.randint(0, 60)
            batch.extend(parts[p][position[p] : position[p] + take])
        if not batch and transform.windows:  # end of input: what is due is flushed
            for w in transform.windows.values():
                w.arrived = -1e9
        for msg in batch:
            from kafka.structs import TopicPartition

            tp = TopicPartition(TOPIC, msg.partition)
            if not transform.known(tp):
                transform.assign(tp, committed.get(tp), msg.offset)
        result = transform(batch)
        fate = rng.random()
        if fate < 0.15:  # crash: a new process reads from the committed offsets
            transform = _compress(schema, 16, fallback=False, max_delay_ms=10_000)
            position = {p: committed[tp].offset if (tp := _tp(p)) in committed else 0 for p in range(2)}
            continue
        if fate < 0.25:  # aborted transaction: the same process rewinds
            seek = transform.rewind()
            position.update({tp.partition: off for tp, off in seek.items()})
            continue
        if not result.produce and rng.random() < 0.5:  # the loop commits nothing when nothing is produced
            for msg in batch:
                position[msg.partition] = max(position[msg.partition], msg.offset + 1)
            continue
        output.extend(result.produce)
        for tp, (offset, metadata) in result.offsets.items():
            committed[tp] = Committed(offset, metadata)
        result.on_commit()
        for msg in batch:
            position[msg.partition] = max(position[msg.partition], msg.offset + 1)
    restored = _restore(schema, output)
    assert len(restored) == len(events)
    for key in {ev.key for ev in events}:
        mine = [ev for ev in events if ev.key == key]
        back = [ev for ev in restored if ev.key == key]
        assert len(back) == len(mine)
        assert all(_same(a, b) for a, b in zip(mine, back, strict=True))


def _tp(p: int) -> Any:
    from kafka.structs import TopicPartition

    return TopicPartition(TOPIC, p)


def test_single_events_and_windows_restore_every_event() -> None:
    schema = _schema()
    events = _events(400, seed=4)
    for window in (1, 32):
        transform = _compress(schema, window, fallback=False, max_delay_ms=0)
        msgs = _messages(events, 1)[0]
        transform.assign(_tp(0), None, 0)
        result = transform(msgs)
        assert all(p.value[:1] == bytes((MAGIC,)) for p in result.produce)
        assert result.offsets == {_tp(0): (len(msgs), "")}
        restored = _restore(schema, result.produce)
        by_key = {k: [e for e in restored if e.key == k] for k in {e.key for e in events}}
        for key, back in by_key.items():
            mine = [e for e in events if e.key == key]
            assert all(_same(a, b) for a, b in zip(mine, back, strict=True))
        assert len(result.latencies) == len(events)


def test_open_windows_hold_the_commit_back_with_metadata() -> None:
    transform = _compress(_schema(), 1000, fallback=False, max_delay_ms=60_000)
    msgs = _messages(_events(50), 1)[0]
    transform.assign(_tp(0), None, 0)
    result = transform(msgs)
    assert result.produce == []
    offset, metadata = result.offsets[_tp(0)]
    keys = {m.key for m in msgs}
    firsts = sorted(min(m.offset for m in msgs if m.key == k) for k in keys)
    assert offset == 0 and metadata.startswith("lw2:")
    assert len(metadata) <= 8 + 3 * len(keys)  # offsets only: no key is named
    ledger = PartitionLedger.from_commit(offset, metadata)
    assert ledger.replay_high == 50 and sorted(ledger.replay_firsts) == firsts
    # read again from the commit: each window's key is learned at its first event
    again = [ledger.replayed(m.offset, key_tag(m.key)) for m in msgs]
    assert not any(again) and set(ledger.replay_open.values()) == set(firsts)


def test_metadata_of_the_earlier_layout_is_still_read() -> None:
    ledger = PartitionLedger.from_commit(100, f"lw1:k:{key_tag(b'a')}3,{key_tag(b'b')}7")
    assert ledger.replay_high == 120 and ledger.replay_open == {key_tag(b"a"): 103, key_tag(b"b"): 107}
    assert ledger.replayed(101, key_tag(b"a")) and not ledger.replayed(104, key_tag(b"a"))
    assert ledger.replayed(105, key_tag(b"b")) and ledger.replayed(110, key_tag(b"c"))
    assert ledger.commit() == (100, "lw2:k:3,4")
    for broken in ("lw2:zz:1,!", "lw1:1", "other:1:2", ""):
        assert PartitionLedger.from_commit(9, broken) == PartitionLedger(9)


def test_a_topic_coding_cannot_beat_passes_through_and_one_that_pays_is_coded() -> None:
    rng = random.Random(0)
    tiny = [Event(json.dumps({"id": rng.randbytes(8).hex()}).encode(), None, 1000 + i) for i in range(600)]
    transform = _compress(EventSchema.learn(tiny[:200]), 1)
    transform.assign(_tp(0), None, 0)
    msgs = [Msg(TOPIC, 0, i, e.key, e.value, e.timestamp, []) for i, e in enumerate(tiny)]
    for start in range(0, 600, 200):
        result = transform(msgs[start : start + 200])
        assert [p.value for p in result.produce] == [e.value for e in tiny[start : start + 200]]
    assert transform.metrics.passthrough.labels("compress", TOPIC)._value.get() == 1
    assert transform.verdict.ratio >= 0.95

    schema = _schema()
    events = _messages(_events(1200, seed=6), 1)[0]
    transform = _compress(schema, 32)
    transform.assign(_tp(0), None, 0)
    first = transform(events[:400])  # measured on a sample of the batch first: already coded
    assert first.produce and all(p.value[:1] == bytes((MAGIC,)) for p in first.produce)
    assert transform.verdict.ratio < 0.8
    assert transform.metrics.passthrough.labels("compress", TOPIC)._value.get() == 0


def test_decompress_passes_through_what_is_not_an_envelope_and_rejects_other_kinds() -> None:
    schema = _schema()
    bundle = event_bundle(schema)
    bundle.model_id = "01020304" + "0" * 56
    decompress = EventDecompressTransform(
        ModelResolver([bundle]), "packed", metrics=BridgeMetrics.get(CollectorRegistry())
    )
    msgs = [
        Msg("packed", 0, 0, b"k", b'{"a": 1}', 5, [("h", b"1")]),
        Msg("packed", 0, 1, b"k", None, 6, []),
        Msg("packed", 0, 2, b"k", bytes((MAGIC, 0x11)) + b"\x01\x02\x03\x04\xc4\x00", 7, []),
    ]
    result = decompress(msgs)
    assert [(p.value, p.key, p.timestamp, p.headers) for p in result.produce] == [
        (b'{"a": 1}', b"k", 5, [("h", b"1")]),
        (None, b"k", 6, []),
    ]
    assert result.items[:2] == [None, None] and result.items[2].error.kind


def test_ledger_metadata_stays_within_kafkas_limit_with_every_window_open() -> None:
    ledger = PartitionLedger(10**15, high=10**15 + 2 * 10**12)
    ledger.open = {key_tag(str(i).encode()): 10**15 + i * 7_777_777_777 for i in range(MAX_OPEN)}
    offset, metadata = ledger.commit()
    assert offset == 10**15 and len(metadata.encode()) <= 4096
    again = PartitionLedger.from_commit(offset, metadata)
    assert again.replay_firsts == set(ledger.open.values()) and again.replay_high == ledger.high
