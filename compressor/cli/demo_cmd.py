"""``latentwire demo``: the whole path on a real broker, in one command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from compressor.cli.options import add_option

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:
    from compressor.cli import HelpFormatter

    p = sub.add_parser(
        "demo",
        help="train, stream through Kafka compressed, decode in another process, report",
        description=(
            "Start a local Kafka broker (unless --bootstrap-servers is given or one is already running; a\n"
            "broker the demo started is stopped again), train an autoencoder on scikit-learn's bundled\n"
            "handwritten digits, publish them as latents, publish the same records raw with and without\n"
            "Kafka's zstd, decode them in a separate consumer process and report bytes on the wire and the\n"
            "reconstruction error measured at the consumer."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--bootstrap-servers", default=None, help="use this Kafka instead of the local broker")
    add_option(p, "--broker-port", type=int, default=9092, help="port of the local broker")
    add_option(p, "--workdir", default="runs/demo", help="where the bundle and the reference data go")
    add_option(p, "--epochs", type=int, default=60, help="maximum training epochs")
    add_option(p, "--repeat", type=int, default=5, help="stream the data set this many times")
    add_option(
        p, "--error-bound", type=float, default=None, help="use the error-bounded codec with this bound"
    )
    add_option(p, "--json", action="store_true", default=False, help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compressor.demo import DemoConfig, format_report, run_demo

    report = run_demo(
        DemoConfig(
            workdir=Path(args.workdir),
            bootstrap_servers=args.bootstrap_servers,
            broker_port=args.broker_port,
            epochs=args.epochs,
            repeat=args.repeat,
            error_bound=args.error_bound,
        )
    )
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    ok = report["records_received"] == report["records"] and not report["records_failed"]
    return 0 if ok else 1
