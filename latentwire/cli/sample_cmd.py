"""``latentwire sample``: draw new records from a variational model."""

from __future__ import annotations

import argparse
import sys

from latentwire.cli.options import add_option

ORDER = 53


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "sample",
        help="generate new records from a variational model (--model of a `--model variational` bundle)",
        description=(
            "Draw N latent vectors from the prior N(0, I) (times --temperature) and decode them into new\n"
            "records in original units: .npy of shape (N, D), or .csv by extension (one row per record,\n"
            "or per time step for windowed CSV data). With --topic, the records are also encoded with the\n"
            "bundle's codec and sent to Kafka (kafka-python KafkaProducer), one message per record."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--model", required=True, help="model bundle directory (a variational model)")
    p.add_argument("-n", "--count", type=int, default=10, help="number of records to draw")
    add_option(
        p, "--out", default=None, help="output file (.npy or .csv); default: CSV on stdout unless --topic"
    )
    add_option(p, "--seed", type=int, default=None, help="random seed (default: fresh draws)")
    add_option(p, "--temperature", type=float, default=1.0, help="scale of the prior's standard deviation")
    add_option(p, "--topic", default=None, help="also publish the encoded records to this Kafka topic")
    add_option(
        p, "--bootstrap-servers", default="127.0.0.1:9092", help="Kafka bootstrap servers (with --topic)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compressor.applications.generate import sample
    from compressor.bundle import load_bundle
    from latentwire.cli.array_io import as_table, write_array

    bundle = load_bundle(args.model)
    records = sample(bundle, args.count, seed=args.seed, temperature=args.temperature)
    if args.out or not args.topic:
        table, header = (
            as_table(bundle, records) if str(args.out).lower().endswith(".csv") else (records, None)
        )
        write_array(args.out, table, header)
    if args.topic:
        _publish(bundle, records, args.topic, args.bootstrap_servers)
        print(f"sent {len(records)} records to {args.topic}", file=sys.stderr)
    return 0


def _publish(bundle, records, topic: str, bootstrap_servers: str) -> None:  # noqa: ANN001
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    from compressor.codec import Codec
    from compressor.errors import BrokerError

    payloads = Codec(bundle).encode(records).payloads
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap_servers.split(","))
        try:
            for payload in payloads:
                producer.send(topic, value=payload)
            producer.flush()
        finally:
            producer.close()
    except KafkaError as exc:
        raise BrokerError(f"cannot publish to {topic} at {bootstrap_servers}: {exc}") from exc
