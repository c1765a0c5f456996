"""``latentwire broker start|stop|status``: a local single-node Kafka broker for demos and tests."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from latentwire.cli.kafka_options import add_password_option
from latentwire.cli.options import add_option

DESCRIPTION = """\
Run a real Apache Kafka broker on this machine: a single node in KRaft mode (broker and controller
in one JVM, no ZooKeeper) bound to 127.0.0.1 only.

  start   resolve the Kafka jars, format the storage on first use, launch the broker in the
          background and wait until it answers; does nothing if it is already running
  stop    shut the broker down cleanly (SIGTERM, then SIGKILL after --timeout seconds)
  status  print running/stopped, pid, bootstrap servers and log file; exit 0 when running,
          3 when stopped

The jars are resolved from Maven Central by deploy/kafka/pom.xml in the latentwire source tree (one
`mvn` run, needs Java 17+ and Maven) and cached under $LATENTWIRE_CACHE_DIR or ~/.cache/latentwire;
later starts skip Maven. When latentwire is installed without its source tree, point
LATENTWIRE_KAFKA_POM at that pom. The broker's data, server.properties, broker.log and broker.pid
live in --dir (default ~/.cache/latentwire/broker-<port>).

With --secure the client port speaks SASL_SSL: TLS with a certificate for 127.0.0.1 from a CA generated
once into <dir>/tls (openssl), and SASL/PLAIN with one user. Give the user's password through
LATENTWIRE_SASL_PLAIN_PASSWORD (the same variable clients read; it is never printed); clients then set
LATENTWIRE_SECURITY_PROTOCOL=SASL_SSL, LATENTWIRE_SASL_PLAIN_USERNAME and
LATENTWIRE_SSL_CAFILE=<dir>/tls/ca.pem.
"""

#: place in ``latentwire --help``: after ``demo``, before ``train``
ORDER = 15

#: exit status of ``status`` when no broker is running
EXIT_STOPPED = 3


def register(subparsers: Any) -> None:
    from latentwire.cli import HelpFormatter

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "broker",
        help="start, stop or inspect a local single-node Kafka broker (KRaft, 127.0.0.1)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("action", choices=("start", "stop", "status"), help="what to do")
    add_option(parser, "--port", type=int, default=9092, help="client (PLAINTEXT) port on 127.0.0.1")
    add_option(
        parser,
        "--controller-port",
        type=int,
        default=None,
        help="KRaft controller port on 127.0.0.1 (unset: --port + 1)",
    )
    add_option(
        parser,
        "--dir",
        type=Path,
        default=None,
        help="broker directory: data, config, log, pid (unset: ~/.cache/latentwire/broker-<port>)",
    )
    add_option(
        parser,
        "--heap",
        default=None,
        help="JVM maximum heap of the broker, e.g. 512m or 1g (unset: $LATENTWIRE_BROKER_HEAP or 512m)",
    )
    add_option(
        parser,
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for the broker to answer (unset: 60) or to shut down (unset: 30)",
    )
    add_option(
        parser,
        "--secure",
        action="store_true",
        default=False,
        help="SASL_SSL (TLS + SASL/PLAIN) on the client port instead of PLAINTEXT",
    )
    add_option(parser, "--sasl-plain-username", default="latentwire", help="SASL user of a --secure broker")
    add_password_option(parser, "password of that user; prefer the environment variable, it is never printed")
    parser.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`streaming.broker.BrokerConfig` the parsed options describe."""
    from streaming.broker import BrokerConfig

    kwargs: dict[str, Any] = {"port": args.port, "controller_port": args.controller_port, "dir": args.dir}
    if args.heap:
        kwargs["heap"] = args.heap
    if getattr(args, "secure", False) and args.action == "start":
        password = args.sasl_plain_password
        kwargs.update(
            secure=True,
            user=args.sasl_plain_username,
            password=password.get() if password is not None else None,
        )
    return BrokerConfig(**kwargs)


def run(args: argparse.Namespace) -> int:
    from streaming.broker import LocalBroker

    broker = LocalBroker(config_from_args(args))
    if args.action == "start":
        broker.start(timeout=60.0 if args.timeout is None else args.timeout)
        status = broker.status()
        print(f"broker running at {status.bootstrap_servers} (pid {status.pid}, log {status.log_path})")
        if broker.config.secure:
            print(
                f"SASL_SSL, SASL/PLAIN user {broker.config.user!r}; clients verify it with "
                f"--ssl-cafile {broker.config.ca_file}"
            )
        return 0
    if args.action == "stop":
        broker.stop(timeout=30.0 if args.timeout is None else args.timeout)
        print(f"broker at {broker.bootstrap_servers} stopped")
        return 0
    status = broker.status()
    print(f"state:             {'running' if status.running else 'stopped'}")
    print(f"pid:               {status.pid if status.pid is not None else '-'}")
    print(f"bootstrap servers: {status.bootstrap_servers}")
    print(f"directory:         {status.dir}")
    print(f"log:               {status.log_path}")
    return 0 if status.running else EXIT_STOPPED
