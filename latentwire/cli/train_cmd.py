"""``latentwire train``: fit an autoencoder on a file and write a model bundle."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from latentwire.cli.data_options import add_data_options, load_from_args
from latentwire.cli.options import add_option

ORDER = 20


def _key_value(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        parsed: object = json.loads(value)
    except ValueError:
        parsed = value
    return key.strip(), parsed


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "train",
        help="train an autoencoder and write a model bundle",
        description=(
            "Train an autoencoder on the records of a file and write a model bundle: the Keras encoder and\n"
            "decoder, normalization and quantization parameters, and a manifest whose SHA-256 content hash\n"
            "is the model id. The last --validation-split of the records is held back for early stopping and\n"
            "for the summary's reconstruction figures."
        ),
        formatter_class=HelpFormatter,
    )
    add_data_options(p, required=False)
    _add_topic_options(p)
    add_option(p, "--out", required=True, help="bundle directory to write (replaced if it exists)")
    add_option(p, "--model", default="vanilla", help="autoencoder variant (see docs/models.md)")
    add_option(
        p,
        "--latent-dim",
        type=int,
        default=None,
        help="latent size (default: record size / 8, 2..64, at most one per 8 training records; halved "
        "once when validation shows overfitting)",
    )
    add_option(p, "--latent-bits", type=int, default=8, help="bits per quantized latent value (1..16)")
    add_option(
        p,
        "--epochs",
        type=int,
        default=None,
        help="maximum epochs (default: 100, fewer for large files; early stopping usually ends sooner)",
    )
    add_option(p, "--batch-size", type=int, default=128, help="training batch size")
    add_option(
        p, "--validation-split", type=float, default=0.2, help="fraction of records held back, from the end"
    )
    add_option(
        p,
        "--stride",
        type=int,
        default=None,
        help="series: rows between the starts of training windows (default: --window, or overlapping "
        "windows, about 256 of them, when the file holds fewer than 64 non-overlapping ones)",
    )
    add_option(p, "--patience", type=int, default=8, help="early-stopping patience in epochs")
    add_option(p, "--learning-rate", type=float, default=1e-3, help="Adam learning rate")
    add_option(p, "--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--option",
        dest="model_options",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="variant-specific setting (JSON value), repeatable, e.g. --option noise_std=0.2",
    )
    add_option(p, "--json", action="store_true", default=False, help="print the summary as JSON")
    p.set_defaults(func=run)


def _add_topic_options(p: argparse.ArgumentParser) -> None:
    """``--from-topic``: train on a live sample instead of ``--data`` (see docs/sidecar.md)."""
    from latentwire.cli.bridge_cmd import _csv
    from latentwire.cli.kafka_options import add_kafka_options

    add_option(
        p,
        "--from-topic",
        default=None,
        help="train on the newest --max-records raw records of this topic instead of --data "
        "(parsed like the compress bridge: --input-format, --fields, --array-field)",
    )
    add_option(
        p, "--input-format", default="json", choices=["json", "f32"], help="--from-topic: raw record format"
    )
    add_option(p, "--fields", type=_csv, default=(), help="--from-topic JSON: numeric fields of a record")
    add_option(p, "--array-field", default=None, help="--from-topic JSON: the field holding a record's array")
    events_help = (
        "learn an event schema instead of an autoencoder: every field of the events (JSON objects, "
        "keys, timestamps, headers) coded as a column, for compress-bridge --events; the sample is "
        "--from-topic's newest --max-records records, or --data FILE with one event per line"
    )
    add_option(p, "--events", action="store_true", default=False, help=events_help)
    add_kafka_options(p)


def _train_events(args: argparse.Namespace) -> int:
    """``train --events``: learn an event schema from a topic or a JSON-lines file; write an event bundle."""
    from pathlib import Path

    from compressor.bundle import event_bundle, save_bundle
    from compressor.errors import ConfigError
    from compressor.events import Event, EventSchema

    if bool(args.data) == bool(args.from_topic):
        raise ConfigError("give exactly one of --data FILE (one event per line) or --from-topic TOPIC")
    if args.from_topic:
        from latentwire.cli.kafka_options import kafka_config
        from streaming.topic_sample import sample_events

        if not args.max_records:
            raise ConfigError("--from-topic needs --max-records N")
        events = sample_events(kafka_config(args).settings(), args.from_topic, args.max_records)
        source = f"kafka:{args.from_topic}"
    else:
        lines = Path(args.data).read_bytes().splitlines()
        events = [Event(line) for line in lines if line.strip()][: args.max_records or None]
        source = str(args.data)
    schema = EventSchema.learn(events)
    fields = {f.name: f.kind + (" (lossy)" if f.lossy else "") for f in schema.fields}
    summary = {"events": len(events), "source": source, "fields": fields, "layouts": len(schema.layouts)}
    model_id = save_bundle(event_bundle(schema, {"events": summary}), args.out)
    if args.json:
        print(json.dumps({"model_id": model_id, "bundle": str(args.out), **summary}, indent=2))
        return 0
    print(f"event model {model_id[:12]} written to {args.out}")
    print(f"  learned from  {len(events)} events of {source}")
    print(f"  fields        {', '.join(f'{k}: {v}' for k, v in fields.items())}")
    print(f"  layouts       {len(schema.layouts)} key order(s)")
    return 0


def _load(args: argparse.Namespace):  # noqa: ANN202
    """Records from --data or from --from-topic (exactly one of them)."""
    from compressor.errors import ConfigError

    if bool(args.data) == bool(args.from_topic):
        raise ConfigError("give exactly one of --data FILE or --from-topic TOPIC")
    if args.data:
        return load_from_args(args)
    from compressor.data import RecordSet
    from latentwire.cli.kafka_options import kafka_config
    from streaming.raw_records import RecordFormat
    from streaming.topic_sample import sample_topic

    if not args.max_records:
        raise ConfigError("--from-topic needs --max-records N")
    fmt = RecordFormat(args.input_format, tuple(args.fields), args.array_field)
    records, _ = sample_topic(kafka_config(args).settings(), args.from_topic, fmt, args.max_records)
    columns = tuple(args.fields) if args.fields else tuple(f"x{i}" for i in range(records.shape[1]))
    return RecordSet(
        records, 1, records.shape[1], columns, None, f"kafka:{args.from_topic}", "kafka", (records.shape[1],)
    )


def _windows(data, stride: int | None, validation_split: float):  # noqa: ANN001, ANN202
    """Overlapping training windows of a series (``compressor.windows.TrainingWindows``), or None to train
    on the file's own non-overlapping records."""
    from compressor.errors import ConfigError
    from compressor.windows import auto_stride, training_windows

    is_series = data.kind == "csv" or (data.kind == "npy" and data.window > 1)
    if not is_series:
        if stride is not None:
            raise ConfigError(
                f"--stride applies to series (CSV, 1-D .npy); {data.source} holds whole records"
            )
        return None
    rows = data.records.reshape(-1, data.channels)
    if data.tail is not None:
        rows = np.concatenate([rows, data.tail.reshape(-1, data.channels)])
    if stride is None and auto_stride(len(rows), data.window) == data.window:
        if data.tail is not None:
            print(
                f"note: the final partial window ({data.tail_length} values) is left out of training",
                file=sys.stderr,
            )
        return None
    return training_windows(rows, data.window, validation_split, stride)


def run(args: argparse.Namespace) -> int:
    from compressor.bundle import save_bundle
    from compressor.training import TrainingConfig, train

    if args.events:
        return _train_events(args)
    data = _load(args)
    windows = _windows(data, args.stride, args.validation_split)
    records, split, stride = data.records, args.validation_split, data.window
    if windows is not None:
        records, split, stride = windows.records, windows.validation_split, windows.stride
        print(
            f"note: training on {len(records)} windows of {data.window} rows every {stride} rows "
            f"({len(records) - windows.held_back} to train, {windows.held_back} held back)",
            file=sys.stderr,
        )
    config = TrainingConfig(
        model=args.model,
        latent_dim=args.latent_dim,
        latent_bits=args.latent_bits,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=split,
        patience=args.patience,
        learning_rate=args.learning_rate,
        seed=args.seed,
        options=dict(args.model_options),
    )
    bundle, summary = train(
        records,
        window=data.window,
        channels=data.channels,
        columns=data.columns,
        shape=data.shape,
        config=config,
    )
    model_id = save_bundle(bundle, args.out)
    report = {
        "model_id": model_id,
        "bundle": str(args.out),
        "windows": int(len(records)),
        "stride": int(stride),
        **summary.to_json(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"model {model_id[:12]} ({summary.model}) written to {args.out}")
    print(
        f"  records       {summary.records} ({summary.train_records} train, {summary.validation_records} held back"
        + (f", {summary.skipped_non_finite} with NaN/Inf skipped" if summary.skipped_non_finite else "")
        + ")"
    )
    if stride != data.window:
        print(f"  windows       {len(records)} overlapping, one every {stride} rows")
    print(
        f"  record size   {summary.record_size} values -> latent {summary.latent_dim} x {summary.latent_bits} bits"
    )
    print(f"  epochs        {summary.epochs_run}, {summary.seconds:.1f} s")
    cap = summary.capacity
    print(
        f"  capacity      latent {cap['latent_dim']}, hidden {list(cap['hidden'])}, "
        f"weight decay {cap['weight_decay']:g}, at most {cap['epochs']} epochs"
        + (f" ({cap['reason']})" if cap["reason"] else "")
    )
    print(
        f"  loss          train {summary.train_loss:.4g}, validation {summary.validation_loss:.4g} "
        f"(gap {100 * summary.train_validation_gap:+.0f}%)"
        + ("  WARNING: large gap even after retraining smaller" if summary.overfitting else "")
    )
    print(
        f"  held back     RMSE {summary.heldback_rmse:.4g}, max |error| {summary.heldback_max_abs_error:.4g}, "
        f"PSNR {summary.heldback_psnr_db:.1f} dB"
    )
    print(
        f"  compression   {summary.bytes_per_record:.1f} bytes/record on the wire, "
        f"ratio {summary.compression_ratio:.1f}x vs float32"
    )
    if bundle.learned is not None:
        print(f"  learned model {bundle.learned.describe()}")
    return 0
