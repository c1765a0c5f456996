"""Metric helpers: bulk histogram updates equal one-by-one observation."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from streaming.metrics import ConsumerMetrics, ProducerMetrics, observe_many


def _samples(registry: CollectorRegistry, name: str) -> list[str]:
    text = generate_latest(registry).decode()
    return [line for line in text.splitlines() if line.startswith(name + "_") and "_created" not in line]


def test_observe_many_matches_observe() -> None:
    registry = CollectorRegistry()
    bulk = Histogram("bulk", "b", buckets=(1, 2, 5), registry=registry)
    single = Histogram("single", "s", buckets=(1, 2, 5), registry=registry)
    values = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 100.0, np.nan])
    observe_many(bulk, values)
    for v in values[np.isfinite(values)]:
        single.observe(v)
    strip = [s.replace("single", "bulk") for s in _samples(registry, "single")]
    assert _samples(registry, "bulk") == strip
    assert registry.get_sample_value("bulk_bucket", {"le": "1.0"}) == 2
    assert registry.get_sample_value("bulk_count") == 8


def test_one_metrics_object_per_registry() -> None:
    registry = CollectorRegistry()
    assert ProducerMetrics.get(registry) is ProducerMetrics.get(registry)
    assert ConsumerMetrics.get(registry) is not ConsumerMetrics.get(CollectorRegistry())


def test_names_follow_conventions() -> None:
    registry = CollectorRegistry()
    ProducerMetrics.get(registry)
    ConsumerMetrics.get(registry)
    names = {m.name for m in registry.collect()}
    assert all(n.startswith("latentwire_producer_") or n.startswith("latentwire_consumer_") for n in names)
    counters = {m.name for m in registry.collect() if m.type == "counter"}
    assert "latentwire_producer_records" in counters  # exposed as ..._records_total


def test_a_new_registry_never_gets_the_metrics_of_a_collected_one() -> None:
    """Instances were once keyed by id(registry): a new registry at a freed address got stale metrics."""
    import gc

    for _ in range(10):
        registry = CollectorRegistry()
        metrics = ProducerMetrics.get(registry)
        assert ProducerMetrics.get(registry) is metrics
        assert "latentwire_producer_records" in {m.name for m in registry.collect()}
        del registry, metrics
        gc.collect()
