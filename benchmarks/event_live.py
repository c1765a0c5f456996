"""Bytes per event on a live topic: events produced in real time at a steady rate, the compress bridge at its
defaults reading them (single events, lossless or at a bound, pass-through fallback on, its commit
interval), against a plain producer sending the same events at the same rate with Kafka's zstd.

On a backlog a bridge's poll returns thousands of events; live, at a few events per poll, what a transaction
costs (about 450 bytes) and how small the record batches get decide the bytes per event, for the raw
producer (a batch per linger) and for the bridge (a transaction and a batch per commit).

    python -m benchmarks.event_topics --data ../shared/data --bootstrap-servers HOST:PORT --live 20,200

Bridge bytes are ``latentwire_bridge_wire_bytes_total`` less what the same bridge sends on an empty topic
(its start: metadata, ``init_transactions``, measured once per run), as in :mod:`benchmarks.event_broker`;
the producers' metadata is fetched before their count starts.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

from compressor.events import Event, EventCoder, EventSchema

__all__ = ["bridge_start_bytes", "measure_live"]


def _delivered(registry: Any, topic: str) -> float:
    return sum(
        s.value
        for metric in registry.collect()
        if metric.name == "latentwire_bridge_records"
        for s in metric.samples
        if s.name.endswith("_total") and s.labels.get("topic") == topic
    )


def _coder(events: list[Event], bound: float, train_fraction: float) -> tuple[EventCoder, bytes]:
    from benchmarks.event_broker import wire_id_of

    schema = EventSchema.learn(events[: int(len(events) * train_fraction)])
    return EventCoder(schema, relative_bound=bound or None), wire_id_of(schema)


def bridge_start_bytes(bootstrap: str, events: list[Event]) -> int:
    """What the compress bridge's producer sends on an empty topic."""
    from benchmarks.event_broker import bridge_bytes, create_topics

    empty = f"bench-live-{uuid.uuid4().hex[:8]}-empty"
    create_topics(bootstrap, [empty])
    coder, wire_id = _coder(events, 0.0, 0.3)
    return bridge_bytes(bootstrap, empty, f"{empty}-out", coder, wire_id, 1, 1000, 0)


def measure_live(
    bootstrap: str,
    events: list[Event],
    rate: float,
    bound: float,
    commit_interval_ms: int | None,
    start_bytes: int,
    seconds: float = 10.0,
    train_fraction: float = 0.3,
) -> dict[str, Any]:
    """Wire bytes per event of raw + zstd and of the single-event bridge (``commit_interval_ms`` None: the
    bridge's default; its ``start_bytes`` taken off) for ``rate * seconds`` events sent live."""
    from prometheus_client import CollectorRegistry

    from benchmarks.event_broker import compress_config, create_topics
    from benchmarks.event_latency import BridgeThread, produce_live

    coder, wire_id = _coder(events, bound, train_fraction)
    cut = int(len(events) * train_fraction)
    live = [events[cut + i % (len(events) - cut)] for i in range(int(rate * seconds))]
    tag = uuid.uuid4().hex[:8]
    raw, rawz, out = (f"bench-live-{tag}-{n}" for n in ("raw", "rawz", "out"))
    create_topics(bootstrap, [raw, rawz, out])
    config = compress_config(bootstrap, raw, out, None)
    if commit_interval_ms is not None:
        config = replace(config, commit_interval_ms=commit_interval_ms)
    registry = CollectorRegistry()
    labels = {"bridge": "compress", "topic": raw}
    bridge = BridgeThread(config, registry, coder, wire_id)
    try:
        time.sleep(4.0)  # the bridge joins its group before the first event is sent
        sent = produce_live(bootstrap, live, rate, {raw: None, rawz: "zstd"})
        deadline = time.monotonic() + 60
        while _delivered(registry, raw) < len(live) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        bridge.stop()
    delivered = _delivered(registry, raw)
    if delivered != len(live):
        raise RuntimeError(f"the bridge delivered {delivered:.0f} of {len(live)} events")
    total = registry.get_sample_value("latentwire_bridge_wire_bytes_total", labels) or 0.0
    n = len(live)
    passthrough = registry.get_sample_value("latentwire_bridge_passthrough", labels)
    committed = registry.get_sample_value(
        "latentwire_bridge_transactions_total", {**labels, "outcome": "committed"}
    )
    return {
        "events": n,
        "raw": sent[raw] / n,
        "raw_zstd": sent[rawz] / n,
        "bridge": (total - start_bytes) / n,
        "transactions": committed,
        "passthrough": bool(passthrough),
    }
