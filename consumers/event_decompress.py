"""The decompress bridge's event mode: event records (kinds 4 and 5) in, the original events out.

Each event of a window comes out as its own record with its own key, timestamp and headers, in the
window's partition, in order; a single-event record comes out as its event. Records that are not
latentwire envelopes (the compress bridge passed them through because coding did not beat zstd) and
tombstones are passed on unchanged. Other envelope kinds, and events whose model has no event schema, go
to the dead-letter topic.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from compressor.envelope import MAGIC, Kind, unpack
from compressor.errors import EnvelopeError, LatentwireError
from compressor.events import EventCoder
from consumers.resolver import ModelResolver
from streaming.bridge_loop import Produce, Rejected, TransformResult
from streaming.metrics import BridgeMetrics

__all__ = ["EventDecompressTransform"]


class EventDecompressTransform:
    """Restores the events of a poll batch of event records (see the module docstring).

    Parameters:
        resolver (ModelResolver): finds the bundle (and its event schema) of each model id.
        input_topic (str): the topic read (a metric label).
        metrics (BridgeMetrics | None): where records are counted. Default: None, the instance shared on
            the default Prometheus registry.
    """

    bridge = "decompress"

    def __init__(
        self, resolver: ModelResolver, input_topic: str, *, metrics: BridgeMetrics | None = None
    ) -> None:
        self.resolver = resolver
        self.topic = input_topic
        self.metrics = metrics or BridgeMetrics.get()
        self._coders: dict[bytes, EventCoder] = {}

    def _coder(self, wire_id: bytes) -> EventCoder:
        coder = self._coders.get(wire_id)
        if coder is None:
            bundle = self.resolver.codec(wire_id).bundle
            if bundle.events is None:
                raise EnvelopeError(f"model {bundle.model_id[:12]} has no event schema: not an event model")
            coder = self._coders[wire_id] = EventCoder(bundle.events)
        return coder

    def __call__(self, messages: list[Any]) -> TransformResult:
        items: list[Rejected | None] = []
        out: list[Produce] = []
        counts: dict[str, int] = defaultdict(int)
        for msg in messages:
            headers = list(msg.headers or [])
            if msg.value is None or msg.value[:1] != bytes((MAGIC,)):
                out.append(Produce(msg.value, msg.key, msg.timestamp, headers, msg.partition))
                items.append(None)
                counts["passthrough"] += 1
                continue
            try:
                env = unpack(msg.value)
                if env.kind not in (Kind.EVENT, Kind.EVENT_WINDOW):
                    raise EnvelopeError(f"envelope kind {env.kind} is not an event record")
                events = self._coder(env.model_id).decode(
                    env.payload, msg.key, msg.timestamp, single=env.kind == Kind.EVENT
                )
            except LatentwireError as exc:
                items.append(Rejected(exc))
                continue
            items.append(None)
            out.extend(Produce(e.value, e.key, e.timestamp, list(e.headers), msg.partition) for e in events)
            counts[env.model_id.hex()] += len(events)
        output_bytes = sum(len(p.value or b"") + sum(len(k) + len(v) for k, v in p.headers) for p in out)

        def on_commit() -> None:
            m, now = self.metrics, time.time()
            for model, n in counts.items():
                m.records.labels(self.bridge, self.topic, model).inc(n)
                m.model_last_seen.labels(self.bridge, self.topic, model).set(now)

        return TransformResult(items, output_bytes, on_commit, out)  # type: ignore[arg-type]
