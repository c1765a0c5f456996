"""The compress bridge's event mode: raw events in, each coded alone (kind 5) or in windows of one key
(kind 4), or passed through when coding does not beat Kafka's zstd.

Windows: the events of one key (per input partition; a null key is a key too) are gathered until
``window_events`` of them wait or the oldest has waited ``max_delay_ms``, then produced as one record with
the key and the last event's timestamp, in the events' partition. Offsets are committed through a
:class:`streaming.window_ledger.WindowLedger`, so a window is never half committed and a restart (or an
aborted transaction) rebuilds the open windows from the input. The record latency metric observes each
event when its window is produced, so it shows the delay the window added.

Never worse than zstd: the bridge compares, over the last :data:`VERDICT_EVENTS` events, the record batch
bytes of the coded records with those of the raw events under Kafka's zstd (:mod:`streaming.record_batches`),
each cut into record batches as the bridge's producer cuts a batch it sends at once (its ``batch_size``):
the two ways the bridge can send a batch, as it would really send them. (zstd compresses batches of
different sizes very differently: the raw events of one NAB topic take 5 % more bytes in one 206 KB batch
than in four of 52 KB, so a fixed number of records per batch misjudged the pass-through.) Transactions and
offset commits cost the same either way, so they are not part of the comparison; the commit interval of
:class:`streaming.bridge_loop.BridgeLoop` keeps them few. The bridge starts passing records through
(unchanged; the bridge's producer compresses its batches with zstd): while it does, it codes a sample of
each batch on the side and codes the batch if that pays (single events: the sample's coded bytes scaled to
the batch, against the whole batch passed through); while coding it measures what it sends, and goes back
to passing through (with a warning and ``latentwire_bridge_passthrough`` = 1) when coding stops paying.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from compressor.envelope import FRAMING_VERSION, MAGIC, Envelope, Kind, pack
from compressor.events import Event, EventCoder
from streaming.bridge_loop import Produce, TransformResult
from streaming.clients import PRODUCER_TUNING
from streaming.metrics import BridgeMetrics
from streaming.record_batches import batch_bytes
from streaming.window_ledger import MAX_OPEN, WindowLedger, key_tag

__all__ = ["EventCompressTransform"]

log = logging.getLogger(__name__)

#: events the verdict "coding pays" is taken over
VERDICT_EVENTS = 4096
#: events coded on the side per batch while passing through
SAMPLE_EVENTS = 128
#: fewest events measured before the verdict changes
MIN_VERDICT_EVENTS = 32
#: coding starts below this ratio of record batch bytes to raw + zstd, and stops above the next one. The
#: bridge's transactions and offset commits cost the same whether it codes or passes records through, so
#: the comparison is of record batches alone; the margin only keeps a noisy estimate from flapping
START_CODING = 0.98
KEEP_CODING = 1.0
#: a window is produced once its events hold this many raw bytes (well below Kafka's 1 MiB request limit)
MAX_WINDOW_BYTES = 256 * 1024
#: the bridge producer's record batch size: the verdict cuts record batches as the producer does
BATCH_SIZE = PRODUCER_TUNING["batch_size"]


@dataclass
class _Window:
    tp: Any
    partition: int
    key: bytes | None
    arrived: float
    events: list[Event] = field(default_factory=list)
    size: int = 0


class _Verdict:
    """Rolling sums of raw+zstd and coded record batch bytes; whether coding pays."""

    def __init__(self) -> None:
        self._parts: deque[tuple[int, int, int]] = deque()
        self.raw = self.coded = self.events = 0

    def add(self, raw: int, coded: int, events: int) -> None:
        self._parts.append((raw, coded, events))
        self.raw, self.coded, self.events = self.raw + raw, self.coded + coded, self.events + events
        while self._parts and self.events - self._parts[0][2] >= VERDICT_EVENTS:
            r, c, n = self._parts.popleft()
            self.raw, self.coded, self.events = self.raw - r, self.coded - c, self.events - n

    @property
    def ratio(self) -> float:
        return self.coded / self.raw if self.raw else 1.0

    def pays(self, coding: bool) -> bool:
        if self.events < MIN_VERDICT_EVENTS:
            return coding
        return self.ratio < (KEEP_CODING if coding else START_CODING)


def _raw(events: list[Event]) -> list[tuple[bytes | None, bytes | None, int, Any]]:
    return [(ev.key, ev.value, ev.timestamp, list(ev.headers)) for ev in events]


class EventCompressTransform:
    """Codes the events of a poll batch, alone or in per-key windows (see the module docstring).

    Parameters:
        coder (EventCoder): the topic's event coder (its schema and bound).
        wire_id (bytes): the 4-byte model id the envelopes carry.
        input_topic (str): the topic read (a metric label).
        window_events (int): events per window; 1 codes each event alone (kind 5). Default: 1.
        max_delay_ms (int): longest wait of an event in an open window. Default: 1000.
        metrics (BridgeMetrics | None): where records, bytes, the verdict and latencies go. Default: None,
            the instance shared on the default Prometheus registry.
        fallback (bool): pass records through while coding does not beat zstd; False codes every event
            from the start. Default: True.
    """

    bridge = "compress"

    def __init__(
        self,
        coder: EventCoder,
        wire_id: bytes,
        input_topic: str,
        *,
        window_events: int = 1,
        max_delay_ms: int = 1000,
        metrics: BridgeMetrics | None = None,
        fallback: bool = True,
    ) -> None:
        from compressor.errors import ConfigError

        if window_events < 1 or max_delay_ms < 0:
            raise ConfigError("--window-events must be at least 1 and --max-delay at least 0")
        self.coder = coder
        self.wire_id = wire_id
        self.topic = input_topic
        self.window_events = window_events
        self.max_delay = max_delay_ms / 1000
        self.poll_timeout_ms = max(10, min(500, max_delay_ms // 2))
        self.metrics = metrics or BridgeMetrics.get()
        self.ledger = WindowLedger()
        self.windows: dict[tuple[Any, str], _Window] = {}
        self._uncounted: list[bytes] = []
        self.fallback = fallback
        self.coding = not fallback
        self.verdict = _Verdict()
        m, labels = self.metrics, (self.bridge, input_topic)
        m.passthrough.labels(*labels).set(0 if self.coding else 1)
        m.input_zstd_bytes.labels(*labels).inc(0)
        self._labels3 = (self.bridge, input_topic, wire_id.hex())
        m.records.labels(*self._labels3).inc(0)

    # ----------------------------------------------------------------- the hooks of a windowed transform
    def known(self, tp: Any) -> bool:
        return self.ledger.known(tp)

    def assign(self, tp: Any, committed: Any, first_offset: int) -> None:
        self.ledger.assign(tp, committed, first_offset)

    def revoke(self, tps: Any) -> None:
        tps = set(tps)
        self.windows = {k: w for k, w in self.windows.items() if w.tp not in tps}
        self.ledger.revoke(tps)

    def rewind(self) -> dict[Any, int]:
        self.windows.clear()
        self._uncounted = []
        return self.ledger.rewind()

    def due(self) -> bool:
        limit = time.monotonic() - self.max_delay
        return any(w.arrived <= limit for w in self.windows.values())

    # ----------------------------------------------------------------- one batch
    def __call__(self, messages: list[Any]) -> TransformResult:
        from kafka.structs import TopicPartition

        out: list[Produce] = []
        delivered: list[Event] = []
        fresh: list[tuple[Any, Event]] = []
        if not self.coding:  # measure on this batch first, so that it is already coded if coding pays
            self._weigh_sample(
                [
                    (
                        TopicPartition(m.topic, m.partition),
                        Event(m.value, m.key, m.timestamp, tuple(m.headers or ())),
                    )
                    for m in messages
                ]
            )
            self._decide(out, delivered)
        coding = self.coding
        for msg in messages:
            tp = TopicPartition(msg.topic, msg.partition)
            ledger = self.ledger.partitions[tp]
            tag = key_tag(msg.key)
            replayed = ledger.replayed(msg.offset, tag)
            ledger.read(msg.offset)
            if replayed:
                continue
            event = Event(msg.value, msg.key, msg.timestamp, tuple(msg.headers or ()))
            fresh.append((tp, event))
            if not coding and (msg.value is None or msg.value[:1] != bytes((MAGIC,))):
                out.append(Produce(msg.value, msg.key, msg.timestamp, list(msg.headers or []), msg.partition))
                delivered.append(event)
            elif self.window_events == 1 or not coding:
                out.append(self._single(event, msg.partition))
                delivered.append(event)
            else:
                self._gather(tp, tag, msg.partition, msg.offset, event, out, delivered)
        if coding:
            self._flush_due(out, delivered)
        if coding:
            self._weigh(
                _raw(delivered), [(p.key, p.value, p.timestamp, p.headers) for p in out], len(delivered)
            )
            self._decide(out, delivered)
        offsets = self.ledger.offsets()
        now_ms = time.time() * 1000
        latencies = [max(0.0, (now_ms - ev.timestamp) / 1000) for ev in delivered if ev.timestamp >= 0]
        # counted at the next commit: a batch that only fills windows is not committed on its own
        self._uncounted.extend(ev.value for _, ev in fresh if ev.value is not None)
        raw_values = self._uncounted
        output_bytes = sum(len(p.value or b"") for p in out)

        def on_commit() -> None:
            self.ledger.committed(offsets)
            m = self.metrics
            m.records.labels(*self._labels3).inc(len(delivered))
            m.model_last_seen.labels(*self._labels3).set(time.time())
            if raw_values:
                m.input_zstd_bytes.labels(self.bridge, self.topic).inc(_zstd_size(b"".join(raw_values)))
                raw_values.clear()

        return TransformResult([None] * len(messages), output_bytes, on_commit, out, offsets, latencies)

    def _single(self, event: Event, partition: int) -> Produce:
        payload = self.coder.encode([event], event.key, event.timestamp, single=True)
        value = pack(Envelope(self.wire_id, Kind.EVENT, payload, version=FRAMING_VERSION))
        return Produce(value, event.key, event.timestamp, [], partition)

    def _window_record(self, window: _Window) -> Produce:
        last = window.events[-1]
        payload = self.coder.encode(window.events, window.key, last.timestamp)
        value = pack(Envelope(self.wire_id, Kind.EVENT_WINDOW, payload, version=FRAMING_VERSION))
        return Produce(value, window.key, last.timestamp, [], window.partition)

    def _gather(
        self,
        tp: Any,
        tag: str,
        partition: int,
        offset: int,
        event: Event,
        out: list[Produce],
        delivered: list[Event],
    ) -> None:
        window = self.windows.get((tp, tag))
        if window is None:
            ledger = self.ledger.partitions[tp]
            if len(ledger.open) >= MAX_OPEN:
                oldest = min((w for w in self.windows.values() if w.tp == tp), key=lambda w: w.arrived)
                self._flush(oldest, out, delivered)
            window = self.windows[(tp, tag)] = _Window(tp, partition, event.key, time.monotonic())
            ledger.open[tag] = offset
        window.events.append(event)
        window.size += len(event.value or b"")
        if len(window.events) >= self.window_events or window.size >= MAX_WINDOW_BYTES:
            self._flush(window, out, delivered)

    def _flush(self, window: _Window, out: list[Produce], delivered: list[Event]) -> None:
        out.append(self._window_record(window))
        delivered.extend(window.events)
        tag = key_tag(window.key)
        del self.windows[(window.tp, tag)]
        self.ledger.partitions[window.tp].open.pop(tag, None)

    def _flush_due(self, out: list[Produce], delivered: list[Event]) -> None:
        limit = time.monotonic() - self.max_delay
        for window in [w for w in self.windows.values() if w.arrived <= limit]:
            self._flush(window, out, delivered)

    # ----------------------------------------------------------------- never worse than zstd
    def _weigh(self, raw: list, coded: list, events: int, scale: float = 1.0) -> None:
        """Add a batch to the verdict: ``raw`` and ``coded`` records as the producer would batch them
        (``coded`` stands for ``scale`` times as many events)."""
        if events:
            coded_bytes = batch_bytes(coded, "zstd", batch_size=BATCH_SIZE) * scale
            self.verdict.add(batch_bytes(raw, "zstd", batch_size=BATCH_SIZE), round(coded_bytes), events)

    def _weigh_sample(self, batch: list[tuple[Any, Event]]) -> None:
        """While passing through: code a sample of the batch on the side to see whether coding would pay.
        Single events: the first :data:`SAMPLE_EVENTS`, their coded bytes scaled to the batch (a coded
        event compresses little in a record batch), against the whole batch passed through; windows: the
        sample in windows of one key within it, against the sample passed through."""
        sample = batch[:SAMPLE_EVENTS]
        if not sample:
            return
        if self.window_events == 1:
            coded = [self._single(ev, 0) for _, ev in sample]
            coded_records = [(p.key, p.value, p.timestamp, p.headers) for p in coded]
            self._weigh(_raw([ev for _, ev in batch]), coded_records, len(batch), len(batch) / len(sample))
            return
        groups: dict[tuple[Any, bytes | None], list[Event]] = defaultdict(list)
        coded = []
        for tp, ev in sample:
            group = groups[(tp, ev.key)]
            group.append(ev)
            if len(group) == self.window_events:
                coded.append(self._window_record(_Window(tp, 0, ev.key, 0.0, groups.pop((tp, ev.key)))))
        coded.extend(self._window_record(_Window(tp, 0, key, 0.0, g)) for (tp, key), g in groups.items())
        events = [ev for _, ev in sample]
        self._weigh(_raw(events), [(p.key, p.value, p.timestamp, p.headers) for p in coded], len(events))

    def _decide(self, out: list[Produce], delivered: list[Event]) -> None:
        pays = self.verdict.pays(self.coding) or not self.fallback
        m, labels = self.metrics, (self.bridge, self.topic)
        m.coded_vs_zstd.labels(*labels).set(self.verdict.ratio)
        if pays == self.coding:
            return
        self.coding = pays
        m.passthrough.labels(*labels).set(0 if pays else 1)
        if pays:
            log.warning(
                "%s: the event coding sends %.2fx the bytes of Kafka's zstd on the raw events; coding",
                self.topic,
                self.verdict.ratio,
            )
            return
        log.warning(
            "%s: the event coding sends %.2fx the bytes of Kafka's zstd on the raw events, which it does "
            "not beat; passing records through (batches compressed with zstd)",
            self.topic,
            self.verdict.ratio,
        )
        for window in list(self.windows.values()):
            self._flush(window, out, delivered)


def _zstd_size(data: bytes) -> int:
    import zstandard

    return len(zstandard.ZstdCompressor(level=3).compress(data))
