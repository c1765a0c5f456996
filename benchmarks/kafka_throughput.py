"""Records/s through produce + consume on a real broker, and wire bytes per record, for ways of
shipping W=128 windows of the NAB ``real*`` series:

(a) raw float32 payloads with kafka-python, (b) the same with ``compression_type='zstd'``,
(c) a naive serializer that calls the Keras encoder (and, at the consumer, decoder) once per record,
(d) latentwire's batching producer and consumer,
(e) raw float32 payloads with confluent-kafka, (f) confluent-kafka with latentwire's serializer and
deserializer per record, (g) confluent-kafka driven by latentwire's batch path
(:mod:`benchmarks.confluent_throughput`); and the per-record serializer's own cost
(:mod:`benchmarks.serializer_cost`).

Run: ``python -m benchmarks.kafka_throughput`` (starts a local broker unless ``--bootstrap-servers``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.report import markdown_table, replace_section
from benchmarks.serializer_cost import serializer_cost

REPO = Path(__file__).resolve().parents[1]


def nab_windows(data_dir: Path, window: int) -> np.ndarray:
    from compressor.data import load_records

    files = sorted((data_dir / "nab" / "data").glob("real*/*.csv"))
    if not files:
        raise FileNotFoundError(f"no NAB real* series under {data_dir / 'nab' / 'data'}")
    return np.vstack([load_records(f, window=window).records for f in files])


def _producer(bootstrap: str, **kw: object):  # noqa: ANN202
    from streaming.client_config import KafkaConfig
    from streaming.clients import make_producer

    return make_producer(KafkaConfig(bootstrap), **kw)


def _consume(bootstrap: str, topic: str, n: int, handle: Callable[[list], None]) -> tuple[float, float]:
    """Read ``n`` records from partition 0, handing each poll batch to ``handle``; returns the seconds from
    the assignment to the last record and, of those, the seconds until the first record arrived (the
    consumer's start: first fetch)."""
    from kafka import TopicPartition

    from streaming.client_config import KafkaConfig
    from streaming.clients import BULK_READ, make_consumer

    consumer = make_consumer(
        KafkaConfig(bootstrap),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **BULK_READ,
    )
    consumer.assign([TopicPartition(topic, 0)])
    started = time.perf_counter()
    seen = 0
    first = None
    deadline = started + 600
    while seen < n and time.perf_counter() < deadline:
        batch = [m for part in consumer.poll(timeout_ms=1000).values() for m in part]
        if batch and first is None:
            first = time.perf_counter() - started
        handle(batch)
        seen += len(batch)
    seconds = time.perf_counter() - started
    consumer.close()
    if seen < n or first is None:
        raise RuntimeError(f"consumed only {seen} of {n} records from {topic}")
    return seconds, first


def run_raw(bootstrap: str, records: np.ndarray, compression: str | None) -> dict:
    from streaming.wire_bytes import OutgoingBytes

    topic = f"bench-raw-{compression or 'none'}-{uuid.uuid4().hex[:6]}"
    producer = _producer(bootstrap, compression_type=compression)
    wire = OutgoingBytes(producer)
    started = time.perf_counter()
    for row in records:
        producer.send(topic, value=row.tobytes())
    producer.flush()
    produce_s = time.perf_counter() - started
    wire_bytes = wire.total
    producer.close()
    consumed = _consume(
        bootstrap, topic, len(records), lambda b: [np.frombuffer(m.value, np.float32) for m in b]
    )
    return _result(len(records), produce_s, consumed, wire_bytes)


def run_naive(bootstrap: str, records: np.ndarray, bundle) -> dict:  # noqa: ANN001
    """One eager Keras call per record on each side: what a straightforward serializer does."""
    from compressor.envelope import Envelope, Kind, pack, unpack
    from streaming.wire_bytes import OutgoingBytes

    q, norm = bundle.quantizer, bundle.normalizer

    from kafka.serializer import Serializer

    class NaiveSerializer(Serializer):
        def serialize(self, topic: str, headers: object, row: np.ndarray) -> bytes:
            z = np.asarray(bundle.encoder(norm.forward(row[None, :]), training=False))
            return pack(Envelope(bundle.wire_id, Kind.FIXED_RATE, q.to_bytes(q.quantize(z))[0]))

    def deserialize(value: bytes) -> np.ndarray:
        codes = q.from_bytes([unpack(value).payload])
        return norm.inverse(np.asarray(bundle.decoder(q.dequantize(codes), training=False)))[0]

    topic = f"bench-naive-{uuid.uuid4().hex[:6]}"
    producer = _producer(bootstrap, value_serializer=NaiveSerializer())
    wire = OutgoingBytes(producer)
    started = time.perf_counter()
    for row in records:
        producer.send(topic, value=row)
    producer.flush()
    produce_s = time.perf_counter() - started
    wire_bytes = wire.total
    producer.close()
    consumed = _consume(bootstrap, topic, len(records), lambda b: [deserialize(m.value) for m in b])
    return _result(len(records), produce_s, consumed, wire_bytes)


def run_latentwire(bootstrap: str, records: np.ndarray, bundle) -> dict:  # noqa: ANN001
    from compressor.codec import Codec
    from consumers.batching import BatchingConsumer
    from consumers.resolver import ModelResolver
    from producers.batching import BatchingProducer
    from streaming.wire_bytes import OutgoingBytes

    topic = f"bench-latentwire-{uuid.uuid4().hex[:6]}"
    producer = _producer(bootstrap)
    wire = OutgoingBytes(producer)
    batching = BatchingProducer(producer, Codec(bundle), topic, batch_size=4096)
    started = time.perf_counter()
    batching.send(records)
    batching.flush()
    produce_s = time.perf_counter() - started
    wire_bytes = wire.total
    producer.close()
    reader = BatchingConsumer(None, ModelResolver([bundle]))
    decoded: list[int] = []

    def handle(batch: list) -> None:
        out = reader.decode_messages(batch)
        decoded.append(sum(1 for r in out if hasattr(r, "values")))

    consumed = _consume(bootstrap, topic, len(records), handle)
    if sum(decoded) != len(records):
        raise RuntimeError(f"decoded {sum(decoded)} of {len(records)} records")
    return _result(len(records), produce_s, consumed, wire_bytes)


def run_confluent(bootstrap: str, stream: np.ndarray, bundle) -> dict[str, dict]:  # noqa: ANN001
    """Rows (e) to (g) on the same records and broker."""
    from benchmarks.confluent_throughput import (
        run_confluent_batch,
        run_confluent_per_record,
        run_confluent_raw,
    )

    return {
        "(e) raw float32, confluent-kafka": run_confluent_raw(bootstrap, stream, _result),
        "(f) confluent-kafka + latentwire per record": run_confluent_per_record(
            bootstrap, stream, bundle, _result
        ),
        "(g) confluent-kafka + latentwire batch path": run_confluent_batch(
            bootstrap, stream, bundle, _result
        ),
    }


def confluent_checks(results: dict[str, dict]) -> dict[str, float]:
    d, e, f, g = (results[k] for k in results if k[:3] in ("(d)", "(e)", "(f)", "(g)"))
    return {
        "g_over_e": g["records_per_s"] / e["records_per_s"],
        "g_over_d": g["records_per_s"] / d["records_per_s"],
        "g_over_f": g["records_per_s"] / f["records_per_s"],
        "g_over_e_steady": g["steady_records_per_s"] / e["steady_records_per_s"],
        "g_over_d_steady": g["steady_records_per_s"] / d["steady_records_per_s"],
        "g_wire_over_d_wire": g["wire_bytes_per_record"] / d["wire_bytes_per_record"],
    }


def confluent_notes(checks: dict[str, float], cost: dict[str, dict[str, float]]) -> list[str]:
    lines = [
        "confluent-kafka (issue 13): (e) to (g) use librdkafka with the same linger and batch size, and read "
        "alike: the topic looked up before the assignment (`assign_known`), then `consume_available` batches "
        "of up to 4,096 (what is fetched, as kafka-python's poll); wire bytes are librdkafka's own `txbytes`.",
        "",
        f"- (g) vs (e): **{checks['g_over_e']:.2f}x** the records/s of raw confluent-kafka (target >= 0.5x); "
        f"{checks['g_over_e_steady']:.2f}x after the consumer's start",
        f"- (g) vs (d): **{checks['g_over_d']:.2f}x** the records/s of the kafka-python path (target >= 3x); "
        f"{checks['g_over_d_steady']:.2f}x after the consumer's start",
        f"- (g) vs (f): {checks['g_over_f']:.1f}x the records/s of the per-record serializer",
        f"- (g) wire bytes / (d) wire bytes: **{checks['g_wire_over_d_wire']:.3f}** (envelopes unchanged; the rest "
        "is each client's framing)",
        "",
        "Per-record serializer cost (`ConfluentSerializer`, metrics on, CPU time of the calling thread, best of 5 "
        "passes, after the rows above in the same process; the same core as every other client's serializer):",
        "",
        markdown_table(
            ["mode", "serialize us/record", "deserialize us/record", "payload bytes"],
            [[mode, c["serialize_us"], c["deserialize_us"], c["payload_bytes"]] for mode, c in cost.items()],
        ),
        "",
        "Targets: <= 50 us fixed-rate, <= 150 us error-bounded per 128x1 record. The error-bounded row codes "
        "with the bundle trained here, learned model included (the codec picks the learned or the classical "
        "coder per record); the bound is 1% of the median record's range.",
    ]
    return lines


def _own_cost(d: dict, ceiling: dict) -> str:
    """What latentwire's own work added per record to the kafka-python client, as one sentence."""
    extra = 1e6 / d["records_per_s"] - 1e6 / ceiling["records_per_s"]
    if extra > 0:
        return (
            "latentwire's own work (batched encode, producer-side quality check, envelopes, batched decode) "
            f"costs {extra:.0f} us per record on top of the client."
        )
    return (
        "in this run (d) came out faster than the `(ref)` row, which shows how far the machine's load moves "
        "single runs."
    )


def _result(n: int, produce_s: float, consumed: tuple[float, float], wire_bytes: int) -> dict:
    """One row: ``consumed`` is what a ``_consume`` returns (seconds, of which the consumer's start)."""
    consume_s, start_s = consumed
    return {
        "records": n,
        "produce_s": produce_s,
        "consume_s": consume_s,
        "consumer_start_s": start_s,
        "records_per_s": n / (produce_s + consume_s),
        "steady_records_per_s": n / (produce_s + consume_s - start_s),
        "wire_bytes_per_record": wire_bytes / n,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("LATENTWIRE_DATA_DIR") or REPO.parent / "shared" / "data"),
        help="the shared data folder (default: $LATENTWIRE_DATA_DIR, else shared/data next to the repository)",
    )
    parser.add_argument("--bootstrap-servers", default=None, help="use this broker instead of a local one")
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--records", type=int, default=120000, help="records for every row but (c)")
    parser.add_argument("--naive-records", type=int, default=600, help="records for (c), the slow path")
    parser.add_argument(
        "--cost-records", type=int, default=2000, help="records timed for the serializer cost"
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)

    if not (args.data_dir / "nab").is_dir():
        print(f"skipped: NAB data not found under {args.data_dir}", file=sys.stderr)
        return 0
    from compressor.training import TrainingConfig, train
    from streaming.broker import BrokerConfig, LocalBroker

    windows = nab_windows(args.data_dir, args.window)
    half = len(windows) // 2
    print(f"{len(windows)} NAB windows of {args.window}; training on the first half", file=sys.stderr)
    bundle, summary = train(
        windows[:half], window=args.window, channels=1, config=TrainingConfig(epochs=args.epochs)
    )
    bundle.model_id = "be7c4" + "0" * 59  # not saved: any fixed hex id will do
    stream = np.tile(windows[half:], (int(np.ceil(args.records / (len(windows) - half))), 1))[: args.records]

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        broker = None
        bootstrap = args.bootstrap_servers
        if bootstrap is None:
            from tests.integration.conftest import free_port_pair

            port, cport = free_port_pair()
            broker = LocalBroker(BrokerConfig(port=port, controller_port=cport, dir=Path(tmp) / "kafka"))
            broker.start()
            bootstrap = broker.bootstrap_servers
        try:
            results = {
                "(a) raw float32": run_raw(bootstrap, stream, None),
                "(b) raw float32 + zstd": run_raw(bootstrap, stream, "zstd"),
                "(c) naive per-record Keras": run_naive(bootstrap, stream[: args.naive_records], bundle),
                "(d) latentwire": run_latentwire(bootstrap, stream, bundle),
            }
            # reference: kafka-python alone moving payloads as small as (d)'s envelopes, no model, no codec
            envelope = int(round(results["(d) latentwire"]["wire_bytes_per_record"] - 8))
            results["(ref) kafka-python alone, same payload size"] = run_raw(
                bootstrap, np.zeros((len(stream), max(envelope // 4, 1)), np.float32), None
            )
            clients = run_confluent(bootstrap, stream, bundle)
        finally:
            if broker is not None:
                broker.stop()

    load_after = os.getloadavg()[0]
    a, b, c, d, ceiling = (results[k] for k in results)
    results.update(clients)
    cost = serializer_cost(bundle, stream[: args.cost_records])
    checks = {
        "d_over_c": d["records_per_s"] / c["records_per_s"],
        "d_over_a": d["records_per_s"] / a["records_per_s"],
        "d_wire_over_b": d["wire_bytes_per_record"] / b["wire_bytes_per_record"],
    }
    checks.update(confluent_checks(results))
    print(
        json.dumps(
            {
                "results": results,
                "checks": checks,
                "serializer_cost": cost,
                "load": [load_before, load_after],
            },
            indent=2,
        )
    )
    if not args.no_write:
        rows = [
            [
                name,
                r["records"],
                r["records_per_s"],
                r["steady_records_per_s"],
                r["produce_s"],
                r["consume_s"],
                r["consumer_start_s"],
                r["wire_bytes_per_record"],
            ]
            for name, r in results.items()
        ]
        body = "\n".join(
            [
                "## Kafka throughput (issue 3)",
                "",
                f"`python -m benchmarks.kafka_throughput` (or `make bench`): {len(windows)} W={args.window} windows "
                f"of the 47 NAB `real*` series, model trained on the first half ({summary.epochs_run} epochs, "
                f"latent {summary.latent_dim} x 8 bits), the second half streamed (repeated to {args.records} "
                f"records) through a local single-node Kafka 4.1 broker; produce then consume, sequentially, one "
                f"process, on {platform.machine()} with 2 cores (load average {load_before:.1f} before the "
                f"rows, {load_after:.1f} after). Wire bytes are what the producing client sent.",
                "",
                "Every row is timed the same way: produce s runs from the first send to the end of the "
                "flush; consume s from the consumer's assignment to the last record decoded, of which "
                "consumer start s is the wait for the first record (first fetch: a constant per consumer, "
                "not a rate). records/s (produce+consume) is records / (produce s + consume s); records/s "
                "after the consumer's start leaves that start out: records / (produce s + consume s - "
                "consumer start s). Compare rows within one run only: other work on the machine moves "
                "single runs.",
                "",
                markdown_table(
                    [
                        "method",
                        "records",
                        "records/s (produce+consume)",
                        "records/s after the consumer's start",
                        "produce s",
                        "consume s",
                        "of which consumer start s",
                        "wire bytes/record",
                    ],
                    rows,
                ),
                "",
                f"- (d) vs (c): **{checks['d_over_c']:.0f}x** the records/s (target >= 100x)",
                f"- (d) vs (a): **{checks['d_over_a']:.2f}x** the records/s (target >= 0.5x)",
                f"- (d) wire bytes / (b) wire bytes: **{checks['d_wire_over_b']:.3f}** (target < 1)",
                "",
                "Why (d) cannot reach 100x (c) here: kafka-python's own per-record cost caps any client "
                f"of records this small at about {ceiling['records_per_s']:,.0f} records/s (the `(ref)` row: "
                "no model, no codec), which is "
                f"{ceiling['records_per_s'] / c['records_per_s']:.0f}x (c). (c) is faster on this machine "
                "than the ~4 ms per eager Keras call the target assumed; " + _own_cost(d, ceiling),
                "",
                *confluent_notes(checks, cost),
            ]
        )
        replace_section("kafka-throughput", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
