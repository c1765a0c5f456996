"""``latentwire demo``: the whole path on a real broker, in one command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentwire.cli.options import add_option

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "demo",
        help="train, stream through Kafka compressed, decode in another process, report",
        description=(
            "Start a local Kafka broker (unless --bootstrap-servers is given or one is already running; a\n"
            "broker the demo started is stopped again), train an autoencoder on four minutes of a real ECG\n"
            "(MIT-BIH record 100, shipped with the package), then stream the held-back windows through Kafka\n"
            "as fixed-rate latents, error-bounded, and raw with and without Kafka's zstd; decode the latent\n"
            "topics in separate consumer processes and report bytes on the wire and the error measured at\n"
            "the consumer."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--bootstrap-servers", default=None, help="use this Kafka instead of the local broker")
    add_option(p, "--broker-port", type=int, default=9092, help="port of the local broker")
    add_option(p, "--workdir", default="runs/demo", help="where the bundle and the reference data go")
    add_option(
        p, "--epochs", type=int, default=100, help="maximum training epochs (early stopping may end sooner)"
    )
    add_option(p, "--window", type=int, default=128, help="samples per record (each holds 2 leads)")
    add_option(p, "--repeat", type=int, default=10, help="stream the held-back windows this many times")
    add_option(
        p,
        "--relative-bound",
        type=float,
        default=1e-2,
        help="error bound of the bounded stream, as a fraction of the training data's value range",
    )
    add_option(p, "--json", action="store_true", default=False, help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from latentwire.demo import DemoConfig, demo_succeeded, format_report, run_demo

    report = run_demo(
        DemoConfig(
            workdir=Path(args.workdir),
            bootstrap_servers=args.bootstrap_servers,
            broker_port=args.broker_port,
            epochs=args.epochs,
            window=args.window,
            repeat=args.repeat,
            relative_bound=args.relative_bound,
        )
    )
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0 if demo_succeeded(report) else 1
