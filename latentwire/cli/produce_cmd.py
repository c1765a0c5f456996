"""``latentwire produce``: stream a file through the encoder into a Kafka topic."""

from __future__ import annotations

import argparse
import json
import sys
import time

from latentwire.cli.data_options import add_data_options, load_from_args
from latentwire.cli.kafka_options import add_kafka_options, kafka_config
from latentwire.cli.options import (
    add_anomaly_options,
    add_error_bound_options,
    add_metrics_option,
    add_option,
    codec_from_args,
)
from streaming.clients import PRODUCER_TUNING

ORDER = 30


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "produce",
        help="encode a file's records and publish them to a topic",
        description=(
            "Read records from a file exactly as `train` does, encode them in batches (one model call per\n"
            "batch) and publish one envelope per record. Record keys are the records' indices in the file.\n"
            "A final partial window is padded and its true length travels in the envelope. Records that\n"
            "cannot be encoded (wrong size, NaN/Inf in fixed-rate mode) go to the dead-letter topic with\n"
            "headers saying why; the run goes on."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--model", required=True, help="model bundle directory")
    add_option(p, "--topic", required=True, help="topic to publish to")
    add_data_options(p)
    add_error_bound_options(p)
    add_option(p, "--batch-size", type=int, default=2048, help="records per model call")
    add_option(p, "--dlq-topic", default=None, help="dead-letter topic (default: TOPIC.dlq)")
    add_option(
        p,
        "--compression-type",
        default=None,
        choices=["gzip", "snappy", "lz4", "zstd"],
        help="Kafka batch compression on top of the latents (default: none; latents barely compress)",
    )
    add_option(
        p, "--linger-ms", type=int, default=PRODUCER_TUNING["linger_ms"], help="Kafka producer linger.ms"
    )
    add_option(
        p,
        "--flag-anomalies",
        action="store_true",
        default=False,
        help="score every record by reconstruction error; flagged records (see --anomaly-rule) carry "
        "the headers latentwire.anomaly (the score) and latentwire.anomaly.likelihood",
    )
    add_option(
        p, "--anomalies-topic", default=None, help="also publish flagged records here (implies flagging)"
    )
    add_anomaly_options(p)
    add_option(
        p,
        "--features-topic",
        default=None,
        help="publish each record's latent vector (float32) here, same key",
    )
    add_kafka_options(p)
    add_metrics_option(p)
    add_option(p, "--json", action="store_true", default=False, help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from compressor.bundle import load_bundle
    from compressor.data import pad_tail
    from compressor.progress import bar
    from producers.batching import BatchingProducer
    from producers.side_outputs import SideOutputs
    from streaming.clients import make_producer
    from streaming.metrics import ProducerMetrics, serve_metrics
    from streaming.shutdown import StopFlag
    from streaming.wire_bytes import OutgoingBytes

    bundle = load_bundle(args.model)
    data = load_from_args(args, window=bundle.window, columns=list(bundle.columns) or None)
    codec = codec_from_args(bundle, args)
    records, lengths = data.records, None
    if data.tail is not None:
        records = np.vstack(
            [records, pad_tail(data.tail, bundle.record_size, channels=bundle.channels)[None, :]]
        )
        lengths = [None] * len(data.records) + [data.tail_length]
    if args.metrics_port is not None:
        port = serve_metrics(args.metrics_port, args.metrics_host)
        print(f"metrics on http://{args.metrics_host}:{port}/metrics", file=sys.stderr)
    producer = make_producer(
        kafka_config(args),
        linger_ms=args.linger_ms,
        compression_type=args.compression_type,
        max_in_flight_requests_per_connection=5,
    )
    wire = OutgoingBytes(producer)
    metrics = ProducerMetrics.get()
    batching = BatchingProducer(
        producer,
        codec,
        args.topic,
        batch_size=args.batch_size,
        dead_letter_topic=args.dlq_topic or f"{args.topic}.dlq",
        metrics=metrics,
        side_outputs=SideOutputs(
            codec,
            flag_anomalies=args.flag_anomalies,
            anomalies_topic=args.anomalies_topic,
            features_topic=args.features_topic,
            anomaly_rule=args.anomaly_rule,
            likelihood_level=args.anomaly_likelihood,
        ),
    )
    keys = [str(i).encode() for i in range(len(records))]
    sent = rejected = payload = anomalies = 0
    started = time.monotonic()
    with StopFlag() as stop, bar(len(records), "producing", unit="rec") as progress:
        for start in range(0, len(records), args.batch_size):
            if stop:
                break
            stop_at = start + args.batch_size
            report = batching.send(
                records[start:stop_at],
                keys=keys[start:stop_at],
                lengths=None if lengths is None else lengths[start:stop_at],
                first_index=start,
            )
            sent, rejected = sent + report.sent, rejected + len(report.rejected)
            payload, anomalies = payload + report.payload_bytes, anomalies + report.anomalies
            progress.update(report.sent + len(report.rejected))
        batching.flush()
    seconds = time.monotonic() - started
    metrics.wire_bytes.labels(args.client_id).inc(wire.total)
    raw = 4 * (
        sum(lengths[i] or bundle.record_size for i in range(sent)) if lengths else sent * bundle.record_size
    )
    result = {
        "topic": args.topic,
        "model_id": bundle.model_id,
        "records": sent,
        "rejected": rejected,
        "raw_bytes": raw,
        "payload_bytes": payload,
        "wire_bytes": wire.total,
        "compression_ratio": raw / max(payload, 1),
        "seconds": seconds,
        "records_per_second": sent / max(seconds, 1e-9),
        "anomalies": anomalies if batching.side_outputs.detects else None,
    }
    producer.close()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        dlq = args.dlq_topic or f"{args.topic}.dlq"
        print(
            f"sent {sent} records to {args.topic} ({rejected} refused -> {dlq}): "
            f"{raw} raw bytes -> {payload} payload bytes ({result['compression_ratio']:.1f}x), "
            f"{wire.total} bytes on the wire, {result['records_per_second']:.0f} records/s"
        )
    return 0
