"""The latency a window adds, measured: events produced live at a steady rate go through the compress
bridge (in a thread: ``BridgeService`` with :class:`producers.event_compress.EventCompressTransform`,
exactly once) and a read-committed consumer of its output decodes them; each event's latency is the time
it is read minus its own Kafka timestamp (set by the producer when it sends it, so the latency is end to
end: producer, broker, bridge, transaction, consumer). The same run with windows of 1 event (kind 5, no
waiting) is the baseline; the difference is what windowing adds. The bridge's own record latency metric
(``latentwire_bridge_record_latency_seconds``: from an event's timestamp to the commit of the record
holding it) is reported next to it.

    python -m benchmarks.event_topics --data ../shared/data --bootstrap-servers HOST:PORT --latency 100,1000
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import numpy as np

from compressor.envelope import unpack
from compressor.events import Event, EventCoder, EventSchema

__all__ = ["BridgeThread", "measure_latency", "produce_live"]


def produce_live(
    bootstrap: str,
    events: list[Event],
    rate: float,
    topics: dict[str, str | None],
    linger_ms: int | None = None,
) -> dict[str, int]:
    """Send the events at ``rate`` per second, each with its send time as timestamp, to every topic of
    ``topics`` (name -> batch compression, one producer each; ``linger_ms`` None: latentwire's tuning);
    the bytes each producer sent (its metadata fetched before the count starts)."""
    from streaming.client_config import KafkaConfig
    from streaming.clients import make_producer
    from streaming.wire_bytes import OutgoingBytes

    linger = {} if linger_ms is None else {"linger_ms": linger_ms}
    producers = {t: make_producer(KafkaConfig(bootstrap), acks="all", compression_type=c, **linger) for t, c in topics.items()}  # fmt: skip
    wires = {}
    for topic, producer in producers.items():
        producer.partitions_for(topic)
        wires[topic] = OutgoingBytes(producer)
    start = time.monotonic()
    for i, ev in enumerate(events):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        now = int(time.time() * 1000)
        for topic, producer in producers.items():
            producer.send(topic, value=ev.value, key=ev.key, timestamp_ms=now, headers=[])
    sent = {}
    for topic, producer in producers.items():
        producer.flush()
        sent[topic] = wires[topic].total
        producer.close()
    return sent


class BridgeThread:
    """The compress bridge (``BridgeService`` with :class:`producers.event_compress.EventCompressTransform`)
    run in a thread until :meth:`stop`; errors are raised by :meth:`stop`.

    Arguments:
        config (BridgeConfig): the bridge's config.
        registry (CollectorRegistry): where its metrics are counted.
        coder (EventCoder): the topic's coder.
        wire_id (bytes): the model id its envelopes carry.
        **transform (Any): more arguments of the transform (``window_events``, ``fallback``, ...).
    """

    def __init__(
        self, config: Any, registry: Any, coder: EventCoder, wire_id: bytes, **transform: Any
    ) -> None:
        self._stop = threading.Event()
        self.errors: list[BaseException] = []
        stop = self._stop

        class _Stop:
            def __bool__(self) -> bool:
                return stop.is_set()

        def run() -> None:
            from producers.event_compress import EventCompressTransform
            from streaming.bridge import BridgeService

            try:
                with BridgeService(config, registry=registry) as service:
                    t = EventCompressTransform(coder, wire_id, config.input_topic, metrics=service.metrics, **transform)  # fmt: skip
                    summary = service.run(t, stop=_Stop())
                    if summary.error is not None:
                        self.errors.append(summary.error)
            except BaseException as exc:  # noqa: BLE001 - raised by stop()
                self.errors.append(exc)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.errors:
            raise self.errors[0]


def _read_latencies(
    bootstrap: str, topic: str, coder: EventCoder, expect: int, deadline: float
) -> list[float]:
    from streaming.client_config import KafkaConfig
    from streaming.clients import make_consumer

    consumer = make_consumer(
        KafkaConfig(bootstrap), topic, isolation_level="read_committed", auto_offset_reset="earliest"
    )
    out: list[float] = []
    try:
        while len(out) < expect and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=50).values():
                now = time.time() * 1000
                for rec in records:
                    env = unpack(rec.value)
                    single = env.kind == 5
                    for ev in coder.decode(env.payload, rec.key, rec.timestamp, single=single):
                        out.append((now - ev.timestamp) / 1000)
    finally:
        consumer.close()
    return out


def measure_latency(
    bootstrap: str,
    events: list[Event],
    window: int,
    max_delay: int,
    rate: float,
    seconds: float = 8.0,
    train_fraction: float = 0.3,
) -> dict[str, Any]:
    """End-to-end latency (s) of events sent live at ``rate`` per second through the compress bridge with
    windows of ``window`` events (``fallback`` off: every event is coded)."""
    from prometheus_client import CollectorRegistry

    from benchmarks.event_broker import compress_config, create_topics, wire_id_of

    cut = int(len(events) * train_fraction)
    schema = EventSchema.learn(events[:cut])
    coder = EventCoder(schema, relative_bound=0.01)
    live = [events[cut + i % (len(events) - cut)] for i in range(int(rate * seconds))]
    tag = uuid.uuid4().hex[:8]
    raw, out = f"bench-latency-{tag}-raw", f"bench-latency-{tag}-out"
    create_topics(bootstrap, [raw, out])
    registry = CollectorRegistry()
    bridge = BridgeThread(
        compress_config(bootstrap, raw, out, None),
        registry,
        coder,
        wire_id_of(schema),
        window_events=window,
        max_delay_ms=max_delay,
        fallback=False,
    )
    time.sleep(3.0)  # the bridge joins its group before the first event is sent
    producer = threading.Thread(
        target=produce_live, args=(bootstrap, live, rate, {raw: None}), kwargs={"linger_ms": 0}, daemon=True
    )
    producer.start()
    latencies = _read_latencies(
        bootstrap, out, coder, len(live), time.monotonic() + seconds + 30 + max_delay / 1000
    )
    producer.join()
    bridge.stop()
    labels = {"bridge": "compress", "topic": raw}
    total = registry.get_sample_value("latentwire_bridge_record_latency_seconds_sum", labels) or 0.0
    count = registry.get_sample_value("latentwire_bridge_record_latency_seconds_count", labels) or 0.0
    x = np.asarray(latencies) if latencies else np.zeros(1)
    return {
        "events": len(live),
        "received": len(latencies),
        "p50": float(np.percentile(x, 50)),
        "p95": float(np.percentile(x, 95)),
        "max": float(x.max()),
        "metric_mean": total / count if count else float("nan"),
    }
