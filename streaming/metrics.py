"""Prometheus metrics of producers and consumers.

Names follow ``latentwire_<side>_<name>_<unit>``; counters end in ``_total``; labels stay low-cardinality
(topic and model id, never record keys). Every class takes a ``registry`` so tests use a fresh
``CollectorRegistry``; one instance per (class, registry) is shared, so two producers in one process add
to the same series instead of failing on a duplicate name.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["BridgeMetrics", "ConsumerMetrics", "ProducerMetrics", "observe_many", "serve_metrics"]

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_ERROR_BUCKETS = (1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 1e4, 1e5)
_PSNR_BUCKETS = (0, 10, 20, 30, 40, 50, 60, 70, 80, 100, 120)

T = TypeVar("T", bound="_Metrics")
#: registry -> {class: instance}; weak, so a collected registry's id reused by a new one finds nothing stale
_instances: weakref.WeakKeyDictionary[CollectorRegistry, dict[type, Any]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class _Metrics:
    @classmethod
    def get(cls: type[T], registry: CollectorRegistry | None = None) -> T:
        registry = REGISTRY if registry is None else registry
        with _lock:
            per_class = _instances.setdefault(registry, {})
            if cls not in per_class:
                per_class[cls] = cls(registry)
            return per_class[cls]


class ProducerMetrics(_Metrics):
    """Metrics of producers (``latentwire_producer_*``), labelled by topic and model. Use :meth:`get` to
    share one instance per registry.

    Arguments:
        registry (CollectorRegistry): the registry the metrics are registered in.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["topic", "model"]
        kw: dict[str, Any] = {"registry": registry}
        self.records = Counter(
            "latentwire_producer_records_total", "Records encoded and handed to Kafka.", labels, **kw
        )
        self.raw_bytes = Counter(
            "latentwire_producer_raw_bytes_total", "Raw size of the encoded records as float32.", labels, **kw
        )
        self.payload_bytes = Counter(
            "latentwire_producer_payload_bytes_total", "Envelope bytes produced (Kafka values).", labels, **kw
        )
        self.wire_bytes = Counter(
            "latentwire_producer_wire_bytes_total",
            "Bytes the Kafka client sent to brokers (requests, after Kafka's own compression).",
            ["client"],
            **kw,
        )
        self.compression_ratio = Gauge(
            "latentwire_producer_compression_ratio",
            "Raw float32 bytes over envelope bytes, cumulative.",
            labels,
            **kw,
        )
        self.rmse = Histogram(
            "latentwire_producer_reconstruction_rmse",
            "Per-record RMSE of the values the consumer will decode, in data units.",
            labels,
            buckets=_ERROR_BUCKETS,
            **kw,
        )
        self.max_abs_error = Histogram(
            "latentwire_producer_reconstruction_max_abs_error",
            "Per-record maximum absolute error of the values the consumer will decode, in data units.",
            labels,
            buckets=_ERROR_BUCKETS,
            **kw,
        )
        self.psnr = Histogram(
            "latentwire_producer_reconstruction_psnr_db",
            "PSNR of each encoded batch, in decibels.",
            labels,
            buckets=_PSNR_BUCKETS,
            **kw,
        )
        self.encode_seconds = Histogram(
            "latentwire_producer_encode_seconds",
            "Time to encode one batch (model calls and envelope packing).",
            labels,
            buckets=_LATENCY_BUCKETS,
            **kw,
        )
        self.anomalies = Counter(
            "latentwire_producer_anomalies_total",
            "Records flagged as anomalous (when flagging): anomaly likelihood at or above the level, or with "
            "the threshold rule reconstruction error above the model's calibrated threshold.",
            labels,
            **kw,
        )
        self.anomaly_likelihood = Gauge(
            "latentwire_producer_anomaly_likelihood",
            "Anomaly likelihood of the latest record scored (when flagging): its recent reconstruction "
            "error against that of the records before it, in [0, 1].",
            labels,
            **kw,
        )
        self.errors = Counter(
            "latentwire_producer_errors_total",
            "Records refused or sends failed, by kind.",
            ["topic", "kind"],
            **kw,
        )
        self.dead_letters = Counter(
            "latentwire_producer_dead_letters_total",
            "Records sent to a dead-letter topic, by kind.",
            ["topic", "kind"],
            **kw,
        )


class ConsumerMetrics(_Metrics):
    """Metrics of consumers (``latentwire_consumer_*``), labelled by topic and model. Use :meth:`get` to
    share one instance per registry.

    Arguments:
        registry (CollectorRegistry): the registry the metrics are registered in.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["topic", "model"]
        kw: dict[str, Any] = {"registry": registry}
        self.records = Counter("latentwire_consumer_records_total", "Records decoded.", labels, **kw)
        self.payload_bytes = Counter(
            "latentwire_consumer_payload_bytes_total", "Envelope bytes received.", labels, **kw
        )
        self.decoded_bytes = Counter(
            "latentwire_consumer_decoded_bytes_total", "Decoded values as float32 bytes.", labels, **kw
        )
        self.decode_seconds = Histogram(
            "latentwire_consumer_decode_seconds",
            "Time to decode one batch of one model.",
            labels,
            buckets=_LATENCY_BUCKETS,
            **kw,
        )
        self.errors = Counter(
            "latentwire_consumer_errors_total",
            "Records that could not be decoded, by kind.",
            ["topic", "kind"],
            **kw,
        )
        self.dead_letters = Counter(
            "latentwire_consumer_dead_letters_total",
            "Undecodable records forwarded to a dead-letter topic, by kind.",
            ["topic", "kind"],
            **kw,
        )
        self.bound_violations = Counter(
            "latentwire_consumer_bound_violations_total",
            "Decoded values farther from the original than the error bound (checked against a reference).",
            labels,
            **kw,
        )
        self.rmse = Histogram(
            "latentwire_consumer_reconstruction_rmse",
            "Per-record RMSE against a reference, measured at the consumer, in data units.",
            labels,
            buckets=_ERROR_BUCKETS,
            **kw,
        )
        self.max_abs_error = Histogram(
            "latentwire_consumer_reconstruction_max_abs_error",
            "Per-record maximum absolute error against a reference, measured at the consumer.",
            labels,
            buckets=_ERROR_BUCKETS,
            **kw,
        )


def observe_many(histogram: Any, values: Any) -> None:
    """Observe many values at once: one bucket update per bucket instead of one lock per value.

    Uses the client's per-child bucket counters (stable since prometheus-client 0.4); falls back to
    one ``observe`` per value if they are not there.
    """
    import numpy as np

    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for v in values:
            histogram.observe(float(v))
        return
    # Prometheus buckets are cumulative at exposition, but the client stores per-bucket counts
    index = np.searchsorted(np.asarray(bounds, dtype=np.float64), values, side="left")
    counts = np.bincount(index, minlength=len(bounds))
    for i, count in enumerate(counts[: len(bounds)]):
        if count:
            buckets[i].inc(float(count))
    total.inc(float(values.sum()))


def serve_metrics(port: int, host: str = "127.0.0.1", registry: CollectorRegistry | None = None) -> int:
    """Serve ``/metrics`` in a daemon thread; returns the bound port (useful with port 0)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=registry or REGISTRY)
    return int(server.server_address[1])


class BridgeMetrics(_Metrics):
    """Metrics of the compress and decompress bridges (sidecars). ``bridge`` is ``compress`` or
    ``decompress``; ``topic`` is the input topic. Use :meth:`get` to share one instance per registry.

    Arguments:
        registry (CollectorRegistry): the registry the metrics are registered in.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        kw: dict[str, Any] = {"registry": registry}
        labels = ["bridge", "topic", "model"]
        by_topic = ["bridge", "topic"]
        self.records = Counter(
            "latentwire_bridge_records_total", "Records transformed and produced.", labels, **kw
        )
        self.input_bytes = Counter(
            "latentwire_bridge_input_bytes_total", "Value bytes of the records consumed.", by_topic, **kw
        )
        self.input_zstd_bytes = Counter(
            "latentwire_bridge_input_zstd_bytes_total",
            "Value bytes of the records consumed, after zstd level 3 per poll batch (what Kafka's "
            "compression_type=zstd would have sent without latentwire).",
            by_topic,
            **kw,
        )
        self.output_bytes = Counter(
            "latentwire_bridge_output_bytes_total",
            "Bytes produced: values plus the bridge's headers.",
            by_topic,
            **kw,
        )
        self.wire_bytes = Counter(
            "latentwire_bridge_wire_bytes_total",
            "Bytes the bridge's producer sent to brokers (requests, after Kafka's own compression).",
            by_topic,
            **kw,
        )
        self.batches = Counter(
            "latentwire_bridge_transactions_total",
            "Batches (transactions) completed, by outcome (committed, aborted).",
            ["bridge", "topic", "outcome"],
            **kw,
        )
        self.producer_replacements = Counter(
            "latentwire_bridge_producer_replacements_total",
            "Producers replaced in place after they became unusable (a transaction that could neither "
            "commit nor abort, as after an outage of every node it knew).",
            by_topic,
            **kw,
        )
        self.batch_seconds = Histogram(
            "latentwire_bridge_batch_seconds",
            "Time to transform one poll batch (model call included), excluding the Kafka commit.",
            by_topic,
            buckets=_LATENCY_BUCKETS,
            **kw,
        )
        self.commit_seconds = Histogram(
            "latentwire_bridge_commit_seconds",
            "Time to flush the produced records and commit the batch (transaction or offsets).",
            by_topic,
            buckets=_LATENCY_BUCKETS,
            **kw,
        )
        self.record_latency = Histogram(
            "latentwire_bridge_record_latency_seconds",
            "Time from an input record's Kafka timestamp to the commit of its output.",
            by_topic,
            buckets=_LATENCY_BUCKETS + (5, 10, 30, 60),
            **kw,
        )
        self.errors = Counter(
            "latentwire_bridge_errors_total",
            "Records that could not be processed, by kind.",
            ["bridge", "topic", "kind"],
            **kw,
        )
        self.dead_letters = Counter(
            "latentwire_bridge_dead_letters_total",
            "Records sent to the dead-letter topic, by kind.",
            ["bridge", "topic", "kind"],
            **kw,
        )
        self.bound_violations = Counter(
            "latentwire_bridge_bound_violations_total",
            "Values delivered farther from the original than the error bound (compress bridge; should stay 0).",
            labels,
            **kw,
        )
        self.anomalies = Counter(
            "latentwire_bridge_anomalies_total",
            "Records flagged as anomalous (compress bridge): anomaly likelihood at or above the level, or "
            "with the threshold rule reconstruction error above the bundle's calibrated threshold.",
            labels,
            **kw,
        )
        self.anomaly_likelihood = Gauge(
            "latentwire_bridge_anomaly_likelihood",
            "Anomaly likelihood of the latest record scored (compress bridge): its recent reconstruction "
            "error against that of the records before it, in [0, 1].",
            labels,
            **kw,
        )
        self.rmse = Histogram(
            "latentwire_bridge_reconstruction_rmse",
            "Per-record RMSE of what consumers will decode, in data units (compress bridge).",
            labels,
            buckets=_ERROR_BUCKETS,
            **kw,
        )
        self.window_rmse = Gauge(
            "latentwire_bridge_window_rmse",
            "RMSE over the drift window of recent records, in data units (compress bridge).",
            labels,
            **kw,
        )
        self.drift_score = Gauge(
            "latentwire_bridge_drift_score",
            "Drift signal over the window: RMSE over the model's held-back RMSE (compress bridge) or the "
            "fraction of latent codes at the quantizer's limits (decompress bridge).",
            labels,
            **kw,
        )
        self.drift_threshold = Gauge(
            "latentwire_bridge_drift_threshold", "The drift score above which drift is flagged.", labels, **kw
        )
        self.drift = Gauge(
            "latentwire_bridge_drift", "1 while the drift score is above its threshold, else 0.", labels, **kw
        )
        self.model_last_seen = Gauge(
            "latentwire_bridge_model_last_seen_timestamp_seconds",
            "Unix time a model id was last used by the bridge.",
            labels,
            **kw,
        )
        self.passthrough = Gauge(
            "latentwire_bridge_passthrough",
            "1 while the event coding does not beat Kafka's zstd on the raw records and the bridge passes "
            "them through unchanged (its producer compresses batches with zstd), else 0.",
            by_topic,
            **kw,
        )
        self.coded_vs_zstd = Gauge(
            "latentwire_bridge_coded_vs_zstd_ratio",
            "Record batch bytes of the coded events over those of the raw events with Kafka's zstd, over "
            "the last few thousand events (below 1: the coding pays).",
            by_topic,
            **kw,
        )
        self.up = Gauge(
            "latentwire_bridge_ready",
            "1 when the model is loaded and the broker reachable, else 0.",
            by_topic,
            **kw,
        )
