"""``latentwire compress-bridge`` and ``latentwire decompress-bridge``: sidecars on live topics.

Both consume a topic in a consumer group, transform each poll batch with one model call, and produce
to another topic, exactly once (Kafka transactions) unless ``--at-least-once``. Several copies in one
group share the input partitions. One HTTP port serves ``/metrics``, ``/healthz`` and ``/readyz``.
See docs/sidecar.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from latentwire.cli.kafka_options import add_kafka_options, kafka_config
from latentwire.cli.options import add_anomaly_options, add_error_bound_options, add_option, codec_from_args
from streaming.bridge_config import BridgeConfig

if TYPE_CHECKING:
    from streaming.bridge import BridgeService, BridgeSummary

ORDER = 45


def _csv(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _common(p: argparse.ArgumentParser, bridge: str) -> None:
    add_option(p, "--input-topic", required=True, help="topic to read")
    add_option(p, "--output-topic", required=True, help="topic to write")
    add_option(
        p, "--group-id", default=None, help=f"consumer group (default: latentwire-{bridge}-INPUT_TOPIC)"
    )
    add_option(p, "--dlq-topic", default=None, help="dead-letter topic (default: INPUT_TOPIC.dlq)")
    add_option(
        p,
        "--transactional-id",
        default=None,
        help="Kafka transactional id of this copy (default: latentwire-BRIDGE-INPUT_TOPIC-HOSTNAME-PID; "
        "must differ between running copies, and stay the same across restarts of one copy)",
    )
    add_option(
        p,
        "--at-least-once",
        action="store_true",
        default=False,
        help="no transactions: produce, flush, then commit offsets (a crash may repeat a batch)",
    )
    add_option(
        p,
        "--max-poll-records",
        type=int,
        default=BridgeConfig.max_poll_records,
        help="records per poll, at most; a batch gathered over --commit-interval-ms is processed as soon as "
        "it holds this many",
    )
    add_option(
        p,
        "--commit-interval-ms",
        type=int,
        default=BridgeConfig.commit_interval_ms,
        help="the records read over this many ms are coded together (one model call) and committed in "
        "one transaction. Each transaction costs about 450 bytes on the wire, and larger batches compress "
        "better, so on a quiet topic a longer interval sends fewer bytes; but read-committed consumers see "
        "a record only when its transaction commits, up to this much later. 0: a transaction per poll",
    )
    add_option(
        p,
        "--session-timeout-ms",
        type=int,
        default=BridgeConfig.session_timeout_ms,
        help="how long the group waits for a silent copy before giving its partitions to the others "
        "(kafka-python's default, 45 s, leaves the input of a killed copy unread that long)",
    )
    add_option(
        p,
        "--group-instance-id",
        default=None,
        help="static group membership: a stable name per copy (e.g. the pod name) lets a restarted copy "
        "take its partitions back without a rebalance",
    )
    add_option(p, "--drift-window", type=int, default=5000, help="records in the drift window")
    add_option(
        p,
        "--idle-timeout",
        type=float,
        default=None,
        help="stop after this many seconds without input (default: run until SIGTERM)",
    )
    add_option(
        p,
        "--metrics-port",
        type=int,
        default=BridgeConfig.metrics_port,
        help="port of /metrics, /healthz and /readyz (0: any)",
    )
    add_option(
        p,
        "--metrics-host",
        default=BridgeConfig.metrics_host,
        help="address the HTTP endpoint binds to; loopback by default so metrics are not exposed by accident "
        "(use 0.0.0.0 in a container so the kubelet and Prometheus can reach it)",
    )
    add_kafka_options(p)


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    c = sub.add_parser(
        "compress-bridge",
        help="sidecar: compress a live topic of raw records into another topic",
        description=(
            "Consume raw records (JSON objects or little-endian float32 arrays), encode each poll batch\n"
            "with one model call and publish one envelope per record to --output-topic, keys, headers and\n"
            "partition order kept. With JSON, --fields or --array-field says which numbers are\n"
            "compressed; every other field travels exactly in the latentwire.fields header.\n"
            "Exactly once (Kafka transactions) unless --at-least-once. Bad records go to the\n"
            "dead-letter topic; the bridge goes on.\n"
            "With an event model (train --events) every field of each event is coded: one event per\n"
            "record, or --window-events N events of one key per record (sent when full or after\n"
            "--max-delay); records pass through unchanged, with zstd, while coding does not beat zstd."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(c, "--model", required=True, help="model bundle directory")
    add_option(
        c,
        "--events",
        action="store_true",
        default=False,
        help="event mode (implied by an event model from train --events); --error-bound is then the "
        "fraction of each reading field's training range (default, and with --lossless: lossless)",
    )
    add_option(
        c,
        "--window-events",
        type=int,
        default=1,
        help="event mode: events of one key per record (1: each event alone; 128 saves the most)",
    )
    add_option(
        c,
        "--max-delay",
        type=int,
        default=1000,
        help="event mode: ms an event may wait in an open window before the window is sent (then up to "
        "--commit-interval-ms more until its transaction commits)",
    )
    add_option(c, "--input-format", default="json", choices=["json", "f32"], help="raw record format")
    add_option(c, "--fields", type=_csv, default=(), help="JSON: numeric fields forming the record, in order")
    add_option(c, "--array-field", default=None, help="JSON: the field holding the record as an array")
    add_error_bound_options(c)
    add_option(
        c,
        "--drift-threshold",
        type=float,
        default=2.0,
        help="flag drift when the window's RMSE exceeds this many times the model's held-back RMSE",
    )
    add_anomaly_options(c)
    _common(c, "compress")
    c.set_defaults(func=run_compress)

    d = sub.add_parser(
        "decompress-bridge",
        help="sidecar: restore a compressed topic into raw records",
        description=(
            "Consume latentwire envelopes, decode each poll batch with one decoder call per model id and\n"
            "publish the raw records (JSON rebuilt from the latentwire.fields header, else float32 bytes).\n"
            "Decoders come from --model/--models-dir and the model registry topic, fetched on first sight\n"
            "of a model id, so producers may roll to a new model while this runs.\n"
            "With --events: event records (single or windows) come out as the original events, each with\n"
            "its key, timestamp and headers; records that are not envelopes pass on unchanged."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(
        d,
        "--events",
        action="store_true",
        default=False,
        help="the input comes from a compress bridge in event mode",
    )
    d.add_argument("--model", action="append", default=[], help="model bundle directory (repeatable)")
    add_option(d, "--models-dir", default=None, help="directory holding model bundles (searched by model id)")
    add_option(d, "--registry-topic", default="_latentwire_models", help="model registry topic")
    add_option(
        d, "--no-registry", action="store_true", default=False, help="do not fetch models from the registry"
    )
    add_option(
        d,
        "--registry-cache",
        default=None,
        help="where fetched bundles are kept (default ~/.cache/latentwire/models)",
    )
    add_option(
        d,
        "--drift-threshold",
        type=float,
        default=0.05,
        help="flag drift when this fraction of latent codes sits at the quantizer's limits",
    )
    _common(d, "decompress")
    d.set_defaults(func=run_decompress)


def run_compress(args: argparse.Namespace) -> int:
    from compressor.bundle import EVENTS_MODEL, load_bundle, read_manifest

    args.events = args.events or read_manifest(args.model)["model"]["name"] == EVENTS_MODEL
    if args.events:
        with _service(args, "compress") as service:
            return _run_events(args, service, load_bundle(args.model))
    from producers.compress_bridge import CompressTransform
    from streaming.raw_records import RecordFormat

    record_format = RecordFormat(args.input_format, tuple(args.fields), args.array_field)
    with _service(args, "compress") as service:
        bundle = load_bundle(args.model)
        codec = codec_from_args(bundle, args)
        service.health.set_check("model", True, bundle.model_id[:12])
        transform = CompressTransform(
            codec,
            record_format,
            args.input_topic,
            metrics=service.metrics,
            drift_window=args.drift_window,
            drift_threshold=args.drift_threshold,
            anomaly_rule=args.anomaly_rule,
            anomaly_likelihood=args.anomaly_likelihood,
        )
        return _report(service.run(transform), model_id=bundle.model_id)


def run_decompress(args: argparse.Namespace) -> int:
    from consumers.resolver import ModelResolver
    from streaming.registry.topic import ModelRegistry

    with _service(args, "decompress") as service:
        resolver = ModelResolver(args.model, [args.models_dir] if args.models_dir else [])
        registry = None
        if not args.no_registry:
            registry = ModelRegistry(
                service.config.kafka.settings(), args.registry_topic, args.registry_cache
            )
            registry.refresh()
            resolver.add_source(registry)
        elif not args.model and not args.models_dir:
            from compressor.errors import ConfigError

            raise ConfigError(
                "with --no-registry, say where the decoders are: --model BUNDLE or --models-dir DIR"
            )
        service.health.set_check(
            "model", True, f"{len(resolver.known)} model(s) loaded, registry {'on' if registry else 'off'}"
        )
        if args.events:
            from consumers.event_decompress import EventDecompressTransform

            transform = EventDecompressTransform(resolver, args.input_topic, metrics=service.metrics)
        else:
            from consumers.decompress_bridge import DecompressTransform

            transform = DecompressTransform(
                resolver,
                args.input_topic,
                metrics=service.metrics,
                drift_window=args.drift_window,
                drift_threshold=args.drift_threshold,
            )
        try:
            return _report(service.run(transform))
        finally:
            if registry is not None:
                registry.close()


def _run_events(args: argparse.Namespace, service: BridgeService, bundle: object) -> int:
    """The compress bridge in event mode."""
    from compressor.errors import ConfigError
    from compressor.events import EventCoder
    from producers.event_compress import EventCompressTransform

    schema = getattr(bundle, "events", None)
    if schema is None:
        raise ConfigError(f"{args.model} is not an event model: train one with `latentwire train --events`")
    coder = EventCoder(schema, relative_bound=args.error_bound)
    service.health.set_check("model", True, bundle.model_id[:12])  # type: ignore[attr-defined]
    transform = EventCompressTransform(
        coder,
        bundle.wire_id,  # type: ignore[attr-defined]
        args.input_topic,
        window_events=args.window_events,
        max_delay_ms=args.max_delay,
        metrics=service.metrics,
    )
    return _report(service.run(transform), model_id=bundle.model_id)  # type: ignore[attr-defined]


def bridge_config(args: argparse.Namespace, bridge: str) -> BridgeConfig:
    """The :class:`BridgeConfig` the flags describe."""
    return BridgeConfig(
        bridge=bridge,
        input_topic=args.input_topic,
        output_topic=args.output_topic,
        kafka=kafka_config(args),
        group_id=args.group_id,
        dead_letter_topic=args.dlq_topic,
        transactional_id=args.transactional_id,
        exactly_once=not args.at_least_once,
        max_poll_records=args.max_poll_records,
        commit_interval_ms=args.commit_interval_ms,
        session_timeout_ms=args.session_timeout_ms,
        group_instance_id=args.group_instance_id,
        idle_timeout=args.idle_timeout,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        compression_type="zstd" if getattr(args, "events", False) else None,
    )


def _service(args: argparse.Namespace, bridge: str) -> BridgeService:
    """The bridge's endpoint, up (and announced) before the model loads."""
    from streaming.bridge import BridgeService

    service = BridgeService(bridge_config(args, bridge))
    print(
        f"{bridge}-bridge: /metrics, /healthz, /readyz on http://{args.metrics_host}:{service.port}",
        file=sys.stderr,
        flush=True,
    )
    return service


def _report(summary: BridgeSummary, **extra: str) -> int:
    """Print the run's summary as one JSON line; exit status 1 if an error stopped it."""
    from latentwire.cli import authorization_refusal

    print(json.dumps({**summary.to_json(), **extra}), flush=True)
    if summary.error is not None and authorization_refusal(summary.error) is not None:
        raise summary.error  # the command line says what the broker refused (exit 77)
    return 0 if summary.error is None else 1
