"""Kafka client settings from flags and environment, in kafka-python's spelling."""

from __future__ import annotations

import argparse
from typing import Any

from compressor.cli.options import add_option

__all__ = ["add_kafka_options", "client_config"]


def add_kafka_options(parser: argparse.ArgumentParser) -> None:
    add_option(
        parser,
        "--bootstrap-servers",
        default="127.0.0.1:9092",
        help="Kafka bootstrap servers, comma separated",
    )
    add_option(parser, "--client-id", default="latentwire", help="Kafka client id")
    add_option(
        parser,
        "--security-protocol",
        default="PLAINTEXT",
        choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"],
        help="Kafka security protocol",
    )
    add_option(parser, "--sasl-mechanism", default=None, help="SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
    add_option(parser, "--sasl-plain-username", default=None, help="SASL user name")
    add_option(
        parser,
        "--sasl-plain-password",
        default=None,
        help="SASL password (prefer the environment variable; it is never printed or logged)",
    )
    add_option(parser, "--ssl-cafile", default=None, help="CA certificate file to verify brokers")
    add_option(parser, "--ssl-certfile", default=None, help="client certificate file (mutual TLS)")
    add_option(parser, "--ssl-keyfile", default=None, help="client private key file (mutual TLS)")


def client_config(args: argparse.Namespace) -> dict[str, Any]:
    """Settings common to producers, consumers and admin clients; unset ones are left out."""
    config: dict[str, Any] = {
        "bootstrap_servers": [s.strip() for s in args.bootstrap_servers.split(",") if s.strip()],
        "client_id": args.client_id,
        "security_protocol": args.security_protocol,
    }
    for name in ("sasl_mechanism", "sasl_plain_username", "sasl_plain_password", "ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        value = getattr(args, name, None)
        if value:
            config[name] = value
    return config
