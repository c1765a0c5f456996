"""Microseconds per record of latentwire's per-record serializer and deserializer (no broker): the cost a
producer pays when it calls the serializer once per record, on one core.

Each figure is the best of ``repeats`` passes over the same records (the least disturbed by other work on
the machine), fixed-rate and error-bounded. The NAB series mix scales from 1 to 1e9, so a bound relative
to the training data's whole range would leave most records nothing to code: the bound is 1% of the
median record's own value range instead.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["serializer_cost"]


def _best_us(call, items, ctx, repeats: int) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for item in items:
            call(item, ctx)
        best = min(best, time.perf_counter() - started)
    return best / len(items) * 1e6


def serializer_cost(bundle, records: np.ndarray, repeats: int = 5) -> dict[str, dict[str, float]]:  # noqa: ANN001
    """{mode: {"serialize_us": ..., "deserialize_us": ..., "payload_bytes": ...}} for fixed rate and bounded."""
    from confluent_kafka.serialization import MessageField, SerializationContext
    from prometheus_client import CollectorRegistry

    from consumers.confluent import ConfluentDeserializer
    from consumers.resolver import ModelResolver
    from producers.confluent import ConfluentSerializer
    from streaming.metrics import ConsumerMetrics, ProducerMetrics

    ctx = SerializationContext("bench", MessageField.VALUE)
    bound = 0.01 * float(np.median(np.ptp(records, axis=1)))
    out: dict[str, dict[str, float]] = {}
    for mode, error_bound in (("fixed-rate", None), (f"error-bounded E={bound:.3g}", bound)):
        registry = CollectorRegistry()  # metrics on, as in production
        ser = ConfluentSerializer(bundle, error_bound=error_bound, metrics=ProducerMetrics.get(registry))
        de = ConfluentDeserializer(ModelResolver([bundle]), metrics=ConsumerMetrics.get(registry))
        payloads = [ser(row, ctx) for row in records]  # also warms up
        out[mode] = {
            "serialize_us": _best_us(ser, records, ctx, repeats),
            "deserialize_us": _best_us(de, payloads, ctx, repeats),
            "payload_bytes": float(np.mean([len(p) for p in payloads])),
        }
    return out
