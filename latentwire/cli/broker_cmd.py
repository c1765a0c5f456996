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

With --nodes 3 (or more) it runs a cluster instead: that many combined broker + controller nodes, node i
on client port --port + 2(i-1) and the port after it for its controller, in <dir>/node-<i> (default dir
~/.cache/latentwire/cluster-<port>), one controller quorum of all nodes, and replication factor 3 with
min.insync.replicas 2 for the internal topics and new topics. Clients bootstrap from all the nodes
(start prints the list).

With --secure the client port speaks SASL_SSL: TLS with a certificate for 127.0.0.1 from a CA generated
once into <dir>/tls (openssl), SASL/PLAIN and SASL/SCRAM-SHA-512, and ACLs (StandardAuthorizer). The
--sasl-plain-username user is the super user; give its password through LATENTWIRE_SASL_PLAIN_PASSWORD
(the same variable clients read; it is never printed). --users-file adds users who may log in but do
only what ACLs grant them (see docs/reliability.md, Security). SCRAM credentials are created when the
storage is formatted, on the first start. Clients then set LATENTWIRE_SECURITY_PROTOCOL=SASL_SSL,
LATENTWIRE_SASL_MECHANISM (PLAIN or SCRAM-SHA-512), LATENTWIRE_SASL_PLAIN_USERNAME and
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
        "--nodes",
        type=int,
        default=1,
        help="1: a single node; 3 or more: a local cluster of that many nodes (ports from --port on)",
    )
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
    add_option(
        parser, "--sasl-plain-username", default="latentwire", help="SASL super user of a --secure broker"
    )
    add_option(
        parser,
        "--users-file",
        type=Path,
        default=None,
        help="--secure: more SASL users, one 'name password' per line (keep it readable by you only); "
        "they may do only what ACLs grant them",
    )
    add_password_option(parser, "password of that user; prefer the environment variable, it is never printed")
    parser.set_defaults(func=run)


def _users(path: Path | None) -> tuple[tuple[str, str], ...]:
    from compressor.errors import ConfigError

    if path is None:
        return ()
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read --users-file {path}: {exc.strerror}") from exc
    users = []
    for number, line in enumerate(lines, 1):
        if line.strip() and not line.lstrip().startswith("#"):
            parts = line.split()
            if len(parts) != 2:
                raise ConfigError(f"{path}:{number}: expected 'name password'")  # never echo the line
            users.append((parts[0], parts[1]))
    return tuple(users)


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`streaming.broker.BrokerConfig` (or, with ``--nodes`` > 1,
    :class:`streaming.cluster.ClusterConfig`) the parsed options describe."""
    from compressor.errors import ConfigError
    from streaming.broker import BrokerConfig
    from streaming.cluster import ClusterConfig

    nodes = getattr(args, "nodes", 1)
    kwargs: dict[str, Any] = {"port": args.port, "dir": args.dir}
    if args.heap:
        kwargs["heap"] = args.heap
    if getattr(args, "secure", False) and args.action == "start":
        password = args.sasl_plain_password
        kwargs.update(
            secure=True,
            user=args.sasl_plain_username,
            password=password.get() if password is not None else None,
            users=_users(getattr(args, "users_file", None)),
        )
    if nodes == 1:
        return BrokerConfig(controller_port=args.controller_port, **kwargs)
    if args.controller_port is not None:
        raise ConfigError("--controller-port is for one node; a cluster's ports follow from --port")
    return ClusterConfig(nodes=nodes, **kwargs)


def run(args: argparse.Namespace) -> int:
    from streaming.broker import LocalBroker
    from streaming.cluster import ClusterConfig, LocalCluster

    config = config_from_args(args)
    cluster = isinstance(config, ClusterConfig)
    target = LocalCluster(config) if cluster else LocalBroker(config)
    if args.action == "start":
        target.start(timeout=(120.0 if cluster else 60.0) if args.timeout is None else args.timeout)
        statuses = target.status() if cluster else {config.node_id: target.status()}
        if cluster:
            print(f"cluster of {len(statuses)} nodes running; bootstrap servers {target.bootstrap_servers}")
        for node, status in statuses.items():
            where = f"node {node}" if cluster else "broker"
            print(f"{where} running at {status.bootstrap_servers} (pid {status.pid}, log {status.log_path})")
        if config.secure:
            ca = config.node_configs()[1].ca_file if cluster else config.ca_file
            print(
                f"SASL_SSL (PLAIN, SCRAM-SHA-512), ACLs on, super user {config.user!r}; clients verify it "
                f"with --ssl-cafile {ca}"
            )
        return 0
    if args.action == "stop":
        target.stop(timeout=30.0 if args.timeout is None else args.timeout)
        print(f"{'cluster' if cluster else 'broker'} at {target.bootstrap_servers} stopped")
        return 0
    if cluster:
        statuses = target.status()
        for node, status in statuses.items():
            state = "running" if status.running else "stopped"
            pid = status.pid if status.pid is not None else "-"
            print(f"node {node}: {state:8} pid {pid:<8} {status.bootstrap_servers}  {status.dir}")
        return 0 if all(s.running for s in statuses.values()) else EXIT_STOPPED
    status = target.status()
    print(f"state:             {'running' if status.running else 'stopped'}")
    print(f"pid:               {status.pid if status.pid is not None else '-'}")
    print(f"bootstrap servers: {status.bootstrap_servers}")
    print(f"directory:         {status.dir}")
    print(f"log:               {status.log_path}")
    return 0 if status.running else EXIT_STOPPED
