"""The Kafka client flags, each readable from ``LATENTWIRE_<NAME>``, mapped onto a
:class:`~streaming.client_config.KafkaConfig`.

``--sasl-plain-password`` (or ``LATENTWIRE_SASL_PLAIN_PASSWORD``, the better place for it) is parsed into a
:class:`~streaming.client_config.Secret`, so ``--help``, error messages and logs never show it.
"""

from __future__ import annotations

import argparse
import os

from latentwire.cli.options import add_option, env_name
from streaming.client_config import SECURITY_PROTOCOLS, KafkaConfig, Secret

__all__ = ["add_kafka_options", "add_password_option", "kafka_config"]

#: the client id the command line gives its clients
CLIENT_ID = "latentwire"


def add_password_option(parser: argparse.ArgumentParser, help: str) -> None:  # noqa: A002 - argparse's name
    """``--sasl-plain-password``, held in a :class:`Secret`; its default comes from the environment."""
    var = env_name("--sasl-plain-password")
    parser.add_argument(
        "--sasl-plain-password",
        type=Secret,
        default=Secret(os.environ[var]) if os.environ.get(var) else None,
        help=f"{help} [env {var}]",
    )


def add_kafka_options(parser: argparse.ArgumentParser) -> None:
    defaults = KafkaConfig()
    add_option(
        parser,
        "--bootstrap-servers",
        default=",".join(defaults.bootstrap_servers),
        help="Kafka bootstrap servers, comma separated",
    )
    add_option(parser, "--client-id", default=CLIENT_ID, help="Kafka client id")
    add_option(
        parser,
        "--security-protocol",
        default=defaults.security_protocol,
        choices=list(SECURITY_PROTOCOLS),
        help="Kafka security protocol",
    )
    add_option(
        parser,
        "--sasl-mechanism",
        default=None,
        help="SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; unset with a SASL protocol: PLAIN)",
    )
    add_option(parser, "--sasl-plain-username", default=None, help="SASL user name")
    add_password_option(
        parser, "SASL password; prefer the environment variable, it is never printed or logged"
    )
    add_option(parser, "--ssl-cafile", default=None, help="CA certificate file to verify brokers")
    add_option(parser, "--ssl-certfile", default=None, help="client certificate file (mutual TLS)")
    add_option(parser, "--ssl-keyfile", default=None, help="client private key file (mutual TLS)")
    add_option(
        parser,
        "--reconnect-backoff-max-ms",
        type=int,
        default=defaults.reconnect_backoff_max_ms,
        help="longest wait between reconnection attempts to a broker that went away (kafka-python's own "
        "default, 30000, can add half a minute to the recovery after a broker restart)",
    )


def kafka_config(args: argparse.Namespace) -> KafkaConfig:
    """The :class:`KafkaConfig` the flags added by :func:`add_kafka_options` describe."""
    return KafkaConfig(
        bootstrap_servers=args.bootstrap_servers,
        client_id=args.client_id,
        security_protocol=args.security_protocol,
        sasl_mechanism=args.sasl_mechanism,
        sasl_plain_username=args.sasl_plain_username,
        sasl_plain_password=args.sasl_plain_password,
        ssl_cafile=args.ssl_cafile,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        reconnect_backoff_max_ms=args.reconnect_backoff_max_ms,
    )
