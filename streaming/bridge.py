"""Run a bridge: one consume-transform-produce sidecar, its Kafka clients, its HTTP endpoint.

::

    config = BridgeConfig("compress", "raw", "compressed", kafka=KafkaConfig("broker:9092"))
    summary = run_bridge(CompressTransform(codec, fmt, "raw"), config)

or, to have ``/healthz`` answer while the transform is still being built (a model loading)::

    with BridgeService(config) as service:             # serves /metrics, /healthz, /readyz from here
        service.health.set_check("model", True)
        summary = service.run(make_transform(metrics=service.metrics))

:meth:`BridgeService.run` builds the consumer (a group, offsets committed with the outputs, only committed
input read) and the producer (transactional, or idempotent with ``exactly_once=False``), runs
:class:`~streaming.bridge_loop.BridgeLoop` until SIGTERM/SIGINT or ``idle_timeout``, counts the bytes the
producer sent in ``latentwire_bridge_wire_bytes_total``, and returns a :class:`BridgeSummary`. Its clients
name themselves ``lw-compress`` or ``lw-decompress`` unless ``client_id`` is set: every request carries the
name, and a bridge sends about six per transaction (kafka-python's own ``kafka-python-producer-1`` costs 12
bytes more in each, and its member id, which the offset commits carry, 8 more).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import CollectorRegistry

from streaming.acls import require_topic_access
from streaming.bridge_config import BridgeConfig
from streaming.bridge_loop import BridgeLoop, Transform
from streaming.clients import make_consumer, make_producer
from streaming.health import Health, serve_health
from streaming.metrics import BridgeMetrics
from streaming.shutdown import StopFlag
from streaming.wire_bytes import OutgoingBytes

__all__ = ["BridgeService", "BridgeSummary", "run_bridge"]

log = logging.getLogger(__name__)

#: the bridge's producer lingers this long: the loop flushes at the end of every batch, so a batch's records
#: go out in as few record batches as their size allows (with a short linger the sender thread ships
#: whatever was appended every few ms while the loop is still sending, and each record batch and request
#: costs its framing, about 100 bytes, and compresses alone)
BATCH_LINGER_MS = 1000


@dataclass(frozen=True)
class BridgeSummary:
    """What a finished run did.

    Arguments:
        bridge (str): the bridge's name.
        input_topic (str): the topic read.
        output_topic (str): the topic written.
        processed (int): records transformed and produced.
        dead_lettered (int): records sent to the dead-letter topic.
        aborted_batches (int): batches aborted (and read again).
        transactional_id (str | None): the transactional id used; ``None`` at least once.
        error (BaseException | None): what stopped the run; ``None`` after SIGTERM or the idle timeout.
            Default: None.
    """

    bridge: str
    input_topic: str
    output_topic: str
    processed: int
    dead_lettered: int
    aborted_batches: int
    transactional_id: str | None
    error: BaseException | None = None

    def to_json(self) -> dict[str, Any]:
        """The summary as the bridge commands print it (without the error)."""
        return {
            "bridge": self.bridge,
            "input_topic": self.input_topic,
            "output_topic": self.output_topic,
            "processed": self.processed,
            "dead_lettered": self.dead_lettered,
            "aborted_batches": self.aborted_batches,
            "transactional_id": self.transactional_id,
        }


class BridgeService:
    """One bridge process: its HTTP endpoint is served from construction, :meth:`run` runs the loop.

    ``health`` (readiness checks ``model`` and ``broker``), ``metrics`` and ``port`` (the bound port) are
    public; :meth:`close` (or leaving a ``with`` block) stops the endpoint.

    Arguments:
        config (BridgeConfig): what the bridge reads, writes and serves.
        registry (CollectorRegistry | None): the Prometheus registry counted in and served; ``None``: the
            process's default registry. Default: None.
    """

    def __init__(self, config: BridgeConfig, *, registry: CollectorRegistry | None = None) -> None:
        self.config = config
        self.health = Health()
        self.metrics = BridgeMetrics.get(registry)
        self._up = self.metrics.up.labels(config.bridge, config.input_topic)
        self._up.set(0)
        self._server = serve_health(self.health, config.metrics_port, config.metrics_host, registry)

    @property
    def port(self) -> int:
        return self._server.port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> BridgeService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, transform: Transform, *, stop: Any = None) -> BridgeSummary:
        """Consume, transform and produce until ``stop`` is truthy (default: SIGTERM or SIGINT, caught for
        the run) or the idle timeout. An error raised by the loop ends the run and is returned in the
        summary, after the clients are closed."""
        c, health = self.config, self.health
        kafka = c.kafka if c.kafka.client_id else replace(c.kafka, client_id=f"lw-{c.bridge}")
        require_topic_access(kafka.settings(), c.input_topic)  # kafka-python would poll on in silence
        consumer = make_consumer(
            kafka,
            c.input_topic,
            group_id=c.group,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_poll_records=c.max_poll_records,
            session_timeout_ms=c.session_timeout_ms,
            heartbeat_interval_ms=max(c.session_timeout_ms // 3, 100),
            group_instance_id=c.group_instance_id,
        )
        tid = c.resolved_transactional_id()
        delivery = {"transactional_id": tid} if c.exactly_once else {"enable_idempotence": True}
        if c.compression_type:
            delivery["compression_type"] = c.compression_type
        wire_bytes = self.metrics.wire_bytes.labels(c.bridge, c.input_topic)
        wire: _WireAccount | None = None

        def new_producer() -> Any:
            nonlocal wire
            producer = make_producer(kafka, acks="all", linger_ms=BATCH_LINGER_MS, **delivery)
            if wire is not None:
                wire.report()  # what the old producer sent is counted before its counter goes away
            wire = _WireAccount(OutgoingBytes(producer), wire_bytes)
            if c.exactly_once:
                producer.init_transactions()
            return producer

        producer = new_producer()
        health.set_check("broker", True)
        self._up.set(1)
        loop = BridgeLoop(
            consumer,
            producer,
            transform,
            bridge=c.bridge,
            input_topic=c.input_topic,
            output_topic=c.output_topic,
            dead_letter_topic=c.dead_letters,
            exactly_once=c.exactly_once,
            metrics=self.metrics,
            health=health,
            new_producer=new_producer if c.exactly_once else None,
            commit_interval_ms=c.commit_interval_ms,
            max_batch_records=c.max_poll_records,
        )
        log.warning(
            "%s bridge: %s -> %s, group %s, %s",
            c.bridge,
            c.input_topic,
            c.output_topic,
            c.group,
            f"exactly once (transactional id {tid})" if c.exactly_once else "at least once",
        )
        error = None
        with StopFlag() if stop is None else contextlib.nullcontext(stop) as flag:
            try:
                loop.run(flag, idle_timeout=c.idle_timeout, on_batch=lambda: wire.report())
            except Exception as exc:
                log.error("%s bridge stopped: %r", c.bridge, exc)
                error = exc
            finally:
                self._up.set(0)
                health.set_check("broker", False, "shutting down")
                wire.report()
                consumer.close()
                loop.producer.close()
        return BridgeSummary(
            c.bridge,
            c.input_topic,
            c.output_topic,
            loop.processed,
            loop.dead_lettered,
            loop.aborted,
            tid,
            error,
        )


def run_bridge(transform: Transform, config: BridgeConfig) -> BridgeSummary:
    """Serve the endpoint, run ``transform`` as ``config`` says until SIGTERM or the idle timeout, stop
    the endpoint; see :class:`BridgeService` to serve it while the transform is being built."""
    with BridgeService(config) as service:
        return service.run(transform)


class _WireAccount:
    """Adds the bytes a producer sent since the last report to a counter."""

    def __init__(self, wire: OutgoingBytes, counter: Any) -> None:
        self._wire, self._counter, self._reported = wire, counter, 0

    def report(self) -> None:
        total = self._wire.total
        self._counter.inc(max(0, total - self._reported))
        self._reported = total
