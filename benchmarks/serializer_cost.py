"""Microseconds per record of latentwire's per-record serializer and deserializer (no broker): the cost a
producer pays when it calls the serializer once per record, on one core.

Each figure is the CPU time of the calling thread (``time.thread_time``: background threads, such as
those of Kafka clients created earlier in the same process, are not counted) of the best of ``repeats``
passes over the same records (the least disturbed by other work on a shared machine), fixed-rate and
error-bounded. The NAB
series mix scales from 1 to 1e9, so a bound relative to the training data's whole range would leave most
records nothing to code: the bound is 1% of the median record's own value range instead.

Run on its own with a saved bundle and a CSV (the second half of its windows is timed)::

    python -m benchmarks.serializer_cost --bundle MODEL_DIR --data SERIES.csv
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["serializer_cost"]


def _best_us(call, items, ctx, repeats: int) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeats):
        started = time.thread_time()
        for item in items:
            call(item, ctx)
        best = min(best, time.thread_time() - started)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, required=True, help="a saved model bundle")
    parser.add_argument("--data", type=Path, required=True, help="CSV or .npy the bundle's records come from")
    parser.add_argument("--records", type=int, default=2000, help="at most this many records are timed")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from compressor.bundle import load_bundle
    from compressor.data import load_records

    bundle = load_bundle(args.bundle)
    records = load_records(args.data, window=bundle.window).records
    timed = records[len(records) // 2 :][: args.records]
    print(json.dumps(serializer_cost(bundle, timed, args.repeats), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
