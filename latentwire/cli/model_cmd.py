"""``latentwire model publish|list``: the model registry on a compacted Kafka topic."""

from __future__ import annotations

import argparse
import datetime
import json

from latentwire.cli.kafka_options import add_kafka_options, kafka_config
from latentwire.cli.options import add_option

ORDER = 47


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "model",
        help="publish model bundles to the registry topic, list what is published",
        description=(
            "The model registry is a compacted Kafka topic keyed by model id (a content hash).\n"
            "Consumers and decompress bridges fetch the decoder of an unseen model id from it, verify\n"
            "it against its id and cache it, so producers can roll to a new model while consumers run."
        ),
        formatter_class=HelpFormatter,
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    pub = actions.add_parser(
        "publish",
        help="write a bundle to the registry topic",
        formatter_class=HelpFormatter,
        description="Verify a bundle's hashes and write it to the registry topic, chunked to fit Kafka.",
    )
    pub.add_argument("bundle", help="model bundle directory")
    add_option(pub, "--registry-topic", default="_latentwire_models", help="model registry topic")
    add_option(
        pub, "--chunk-bytes", type=int, default=512 * 1024, help="largest chunk of the bundle per record"
    )
    add_kafka_options(pub)
    pub.set_defaults(func=run_publish)
    ls = actions.add_parser(
        "list",
        help="show the published models",
        formatter_class=HelpFormatter,
        description="List the models published to the registry topic, oldest first.",
    )
    add_option(ls, "--registry-topic", default="_latentwire_models", help="model registry topic")
    add_option(ls, "--json", action="store_true", default=False, help="print JSON")
    add_kafka_options(ls)
    ls.set_defaults(func=run_list)


def run_publish(args: argparse.Namespace) -> int:
    from streaming.registry.topic import publish_bundle

    result = publish_bundle(args.bundle, kafka_config(args).settings(), args.registry_topic, args.chunk_bytes)
    print(
        f"published model {result['model_id'][:12]} ({result['bytes']} bytes in {result['chunks']} chunk(s)) "
        f"to {result['topic']}"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from streaming.registry.topic import ModelRegistry

    registry = ModelRegistry(kafka_config(args).settings(), args.registry_topic)
    try:
        models = registry.list()
    finally:
        registry.close()
    if args.json:
        print(json.dumps(models, indent=2, default=str))
        return 0
    if not models:
        print(f"no models published to {args.registry_topic}")
        return 0
    print(f"{'model id':14} {'name':12} {'record':>6} {'latent':>6} {'bytes':>9}  published")
    for m in models:
        s = m.get("summary", {})
        when = datetime.datetime.fromtimestamp(m.get("published_at", 0), datetime.UTC).strftime(
            "%Y-%m-%d %H:%M:%SZ"
        )
        print(
            f"{m['model_id'][:12]:14} {s.get('name') or '?':12} {s.get('input_dim') or '?':>6} "
            f"{s.get('latent_dim') or '?':>6} {m.get('size', 0):>9}  {when}"
        )
    return 0
