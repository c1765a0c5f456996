"""``latentwire grant ROLE USER ...`` and ``latentwire grant list``: ACLs of a secure broker or cluster."""

from __future__ import annotations

import argparse
from typing import Any

from latentwire.cli.kafka_options import add_kafka_options, kafka_config
from latentwire.cli.options import add_option

#: place in ``latentwire --help``: right after ``broker``
ORDER = 16

DESCRIPTION = """\
Grant a user what one latentwire role needs on a secure broker (`latentwire broker start --secure`,
StandardAuthorizer: a user without grants may log in and do nothing else). Connect as the super user
(the usual Kafka options, e.g. LATENTWIRE_SASL_PLAIN_USERNAME/PASSWORD of the broker's super user).

  compress-bridge USER    read --input-topic, write --output-topic and the dead-letter topic, join
  decompress-bridge USER  --group-id, use --transactional-id (a prefix); decompress: also read the
                          registry topic (unless --no-registry)
  reader USER             read --topic in --group-id
  publisher USER          create and write the registry topic (latentwire model publish)
  list                    every grant the broker holds

Group and transactional id default to the bridges' own defaults (latentwire-BRIDGE-INPUT_TOPIC, and
that as a prefix), so a bridge started without --group-id/--transactional-id is covered.
"""

_ROLES = ("compress-bridge", "decompress-bridge", "reader", "publisher", "list")


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "grant",
        help="grant a user a latentwire role on a secure broker (ACLs), or list the grants",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("role", choices=_ROLES, help="what the user may do (or 'list')")
    p.add_argument("user", nargs="?", default=None, help="the SASL user name (not for 'list')")
    add_option(p, "--input-topic", default=None, help="bridges: the topic read")
    add_option(p, "--output-topic", default=None, help="bridges: the topic written")
    add_option(p, "--topic", default=None, help="reader: the topic read")
    add_option(p, "--group-id", default=None, help="consumer group (bridges: latentwire-BRIDGE-INPUT_TOPIC)")
    add_option(p, "--dlq-topic", default=None, help="bridges: dead-letter topic (default: INPUT_TOPIC.dlq)")
    add_option(
        p,
        "--transactional-id",
        default=None,
        help="bridges: transactional id prefix (default: latentwire-BRIDGE-INPUT_TOPIC)",
    )
    add_option(p, "--registry-topic", default="_latentwire_models", help="model registry topic")
    add_option(
        p,
        "--no-registry",
        action="store_true",
        default=False,
        help="decompress-bridge: no read access to the registry topic",
    )
    add_kafka_options(p)
    p.set_defaults(func=run)


def grants_from_args(args: argparse.Namespace) -> list[Any]:
    """The :class:`streaming.acls.Grant` list the parsed options ask for."""
    from compressor.errors import ConfigError
    from streaming.acls import bridge_grants, publisher_grants, reader_grants

    if not args.user:
        raise ConfigError(f"grant {args.role} needs a user name")
    if args.role == "reader":
        if not args.topic or not args.group_id:
            raise ConfigError("grant reader needs --topic and --group-id")
        return reader_grants(args.user, topic=args.topic, group=args.group_id)
    if args.role == "publisher":
        return publisher_grants(args.user, registry_topic=args.registry_topic)
    if not args.input_topic or not args.output_topic:
        raise ConfigError(f"grant {args.role} needs --input-topic and --output-topic")
    bridge = args.role.split("-")[0]
    default = f"latentwire-{bridge}-{args.input_topic}"
    registry = args.registry_topic if bridge == "decompress" and not args.no_registry else None
    return bridge_grants(
        args.user,
        input_topic=args.input_topic,
        output_topic=args.output_topic,
        group=args.group_id or default,
        transactional_id=args.transactional_id or default,
        dead_letter_topic=args.dlq_topic,
        registry_topic=registry,
    )


def run(args: argparse.Namespace) -> int:
    from streaming.acls import apply, list_grants

    config = kafka_config(args).settings()
    if args.role == "list":
        for grant in list_grants(config):
            print(grant)
        return 0
    grants = grants_from_args(args)
    apply(config, grants)
    for grant in grants:
        print(f"granted: {grant}")
    return 0
