"""Event topics on a real broker: the bytes producers really send (``streaming.wire_bytes``) for raw events,
raw events with Kafka's zstd, and the compress bridge in single-event and windowed mode.

For each topic of :mod:`benchmarks.event_topics` (the schema learned on its first 30 %, the rest measured):

* raw: a plain producer (kafka-python, latentwire's tuning, no compression) sends the events to the raw topic;
* raw + zstd: the same producer with ``compression_type=zstd`` sends them to another topic;
* single / window: the compress bridge (``BridgeService`` with :class:`producers.event_compress.
  EventCompressTransform`, exactly once, zstd batches, pass-through fallback on) reads the raw topic and
  writes the coded topic; its producer's bytes are ``latentwire_bridge_wire_bytes_total``: record batches,
  transaction markers and offset commits included;
* bridge start: what the same bridge's producer sends over an empty topic (API versions, metadata,
  ``init_transactions``, the coordinator): once per bridge start. The raw producers' metadata is fetched
  before their count starts, so "steady" figures (the bridge's bytes less its start) compare like with
  like; the bridge columns with the start included are reported too.

Added latency of a window: the bridge sends a window when it holds N events of a key or its oldest event
has waited ``--max-delay``; on a topic where a key sends one event every ``period`` the added delay is
``min((N - 1) * period, max_delay)`` for a window's first event. Reported per topic from its event period.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from compressor.bundle import event_bundle, save_bundle
from compressor.events import Event, EventCoder, EventSchema

__all__ = ["bridge_bytes", "compress_config", "create_topics", "measure_on_broker", "wire_id_of"]


def create_topics(bootstrap: str, names: list[str]) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(n, num_partitions=1, replication_factor=1) for n in names])
    finally:
        admin.close()


def _send(bootstrap: str, topic: str, events: list[Event], compression: str | None) -> int:
    """Bytes the producer sent for ``events``."""
    from streaming.client_config import KafkaConfig
    from streaming.clients import make_producer
    from streaming.wire_bytes import OutgoingBytes

    producer = make_producer(KafkaConfig(bootstrap), compression_type=compression, acks="all")
    producer.partitions_for(topic)  # metadata first: it is not part of the records' bytes
    wire = OutgoingBytes(producer)
    futures = [
        producer.send(topic, value=ev.value, key=ev.key, timestamp_ms=ev.timestamp, headers=list(ev.headers))
        for ev in events
    ]
    producer.flush()
    for future in futures:
        future.get(timeout=0)  # raises the send's error, if any
    sent = wire.total
    producer.close()
    return sent


def compress_config(bootstrap: str, raw: str, out: str, idle_timeout: float | None) -> Any:
    """The compress bridge's config: exactly once, zstd batches, a fresh group and transactional id."""
    from streaming.bridge_config import BridgeConfig
    from streaming.client_config import KafkaConfig

    tag = uuid.uuid4().hex[:8]
    return BridgeConfig(
        "compress",
        raw,
        out,
        kafka=KafkaConfig(bootstrap),
        group_id=f"bench-{tag}",
        transactional_id=f"bench-{tag}",
        idle_timeout=idle_timeout,
        metrics_port=0,
        compression_type="zstd",
    )


def wire_id_of(schema: EventSchema) -> bytes:
    """The model id envelopes of the schema's event bundle carry (the bundle saved once to get it)."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = event_bundle(schema)
        save_bundle(bundle, Path(tmp) / "model")
    return bundle.wire_id


def bridge_bytes(
    bootstrap: str,
    raw: str,
    out: str,
    coder: EventCoder,
    wire_id: bytes,
    window: int,
    max_delay: int,
    events: int,
) -> int:
    """Run the compress bridge over ``raw`` until it is idle; the bytes its producer sent. Raises if the
    bridge did not deliver all ``events`` (bytes of a partial run would flatter it)."""
    from prometheus_client import CollectorRegistry

    from producers.event_compress import EventCompressTransform
    from streaming.bridge import BridgeService

    config = compress_config(bootstrap, raw, out, 3.0 + max_delay / 1000)
    registry = CollectorRegistry()
    with BridgeService(config, registry=registry) as service:
        transform = EventCompressTransform(
            coder, wire_id, raw, window_events=window, max_delay_ms=max_delay, metrics=service.metrics
        )
        summary = service.run(transform)
    if summary.error is not None:
        raise summary.error
    delivered = sum(
        s.value
        for metric in registry.collect()
        if metric.name == "latentwire_bridge_records"
        for s in metric.samples
        if s.name.endswith("_total") and s.labels.get("bridge") == "compress"
    )
    if delivered != events:
        raise RuntimeError(f"the bridge delivered {delivered:.0f} of {events} events of {raw}")
    return int(
        registry.get_sample_value("latentwire_bridge_wire_bytes_total", {"bridge": "compress", "topic": raw})
        or 0
    )


def measure_on_broker(
    bootstrap: str,
    events: list[Event],
    window: int,
    bound: float,
    max_delay: int,
    train_fraction: float = 0.3,
) -> dict[str, Any]:
    """Wire bytes per event of raw, raw + zstd, single-event and windowed bridge for one topic."""
    cut = int(len(events) * train_fraction)
    schema = EventSchema.learn(events[:cut])
    test = events[cut:]
    wire_id = wire_id_of(schema)
    coder = EventCoder(schema, relative_bound=bound or None)  # 0: lossless, the bridge's default
    run = uuid.uuid4().hex[:8]
    raw, rawz, single, windowed = (f"bench-events-{run}-{n}" for n in ("raw", "rawz", "single", "window"))
    create_topics(bootstrap, [raw, rawz, single, windowed])
    n = len(test)
    out = {
        "events": n,
        "raw": _send(bootstrap, raw, test, None) / n,
        "raw_zstd": _send(bootstrap, rawz, test, "zstd") / n,
        "single": bridge_bytes(bootstrap, raw, single, coder, wire_id, 1, max_delay, n) / n,
        "window": bridge_bytes(bootstrap, raw, windowed, coder, wire_id, window, max_delay, n) / n,
    }
    empty = f"bench-events-{run}-empty"
    create_topics(bootstrap, [empty])
    out["start"] = bridge_bytes(bootstrap, empty, f"{empty}-out", coder, wire_id, window, max_delay, 0)
    for mode in ("single", "window"):
        out[f"{mode}_steady"] = out[mode] - out["start"] / n
        out[f"{mode}_vs_zstd"] = out[f"{mode}_steady"] / out["raw_zstd"]
    return out
