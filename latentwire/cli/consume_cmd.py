"""``latentwire consume``: read envelopes from a topic, decode them, write arrays or CSV."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

from latentwire.cli.kafka_options import add_kafka_options, kafka_config
from latentwire.cli.options import add_metrics_option, add_option

ORDER = 40


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "consume",
        help="decode a topic back to arrays or CSV",
        description=(
            "Consume latentwire envelopes, find each record's decoder from the model id it carries,\n"
            "decode in batches and write the records (.npy: one row per record; .csv: the original rows,\n"
            "W per record, with the model's column names). With --reference, compare every decoded record\n"
            "with the original (matched by record key = index in the file) and report the error measured\n"
            "here, at the consumer. Undecodable records are reported with topic, partition and offset, counted\n"
            "and forwarded to --dlq-topic if given; the run goes on."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--topic", required=True, help="topic to read")
    p.add_argument("--model", action="append", default=[], help="model bundle directory (repeatable)")
    add_option(p, "--models-dir", default=None, help="directory holding model bundles (searched by model id)")
    add_option(p, "--out", default=None, help="write decoded records to this .npy or .csv file")
    add_option(p, "--max-records", type=int, default=None, help="stop after this many records")
    add_option(
        p, "--idle-timeout", type=float, default=10.0, help="stop after this many seconds without data"
    )
    add_option(
        p, "--group-id", default=None, help="consumer group (default: a fresh one, reading from the start)"
    )
    add_option(
        p, "--reference", default=None, help="the original data file, to measure error at the consumer"
    )
    add_option(
        p, "--check-bound", type=float, default=None, help="count values farther than this from --reference"
    )
    add_option(p, "--dlq-topic", default=None, help="forward undecodable records here")
    add_option(
        p,
        "--emit",
        default="decoded",
        choices=["decoded", "reconstruction"],
        help="what --out holds: the decoded records, or the model's reconstruction of them "
        "(the cleaned signal, best with a denoising model; see docs/models.md)",
    )
    add_kafka_options(p)
    add_metrics_option(p)
    add_option(p, "--json", action="store_true", default=False, help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compressor.progress import bar
    from consumers.batching import BatchingConsumer, FailedRecord
    from consumers.resolver import ModelResolver
    from streaming.acls import require_topic_access
    from streaming.clients import BULK_READ, make_consumer, make_producer
    from streaming.metrics import ConsumerMetrics, serve_metrics
    from streaming.shutdown import StopFlag

    if not args.model and not args.models_dir:
        from compressor.errors import ConfigError

        raise ConfigError("say where the decoders are: --model BUNDLE (repeatable) or --models-dir DIR")
    resolver = ModelResolver(args.model, [args.models_dir] if args.models_dir else [])
    if args.metrics_port is not None:
        port = serve_metrics(args.metrics_port, args.metrics_host)
        print(f"metrics on http://{args.metrics_host}:{port}/metrics", file=sys.stderr)
    config = kafka_config(args)
    require_topic_access(config.settings(), args.topic)
    consumer = make_consumer(
        config,
        args.topic,
        group_id=args.group_id or f"latentwire-consume-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        isolation_level="read_committed",
        **BULK_READ,
    )
    dlq = make_producer(config) if args.dlq_topic else None
    metrics = ConsumerMetrics.get()
    reader = BatchingConsumer(
        consumer, resolver, metrics=metrics, dead_letter_producer=dlq, dead_letter_topic=args.dlq_topic
    )
    decoded, failures = [], []
    started = time.monotonic()
    with StopFlag() as stop, bar(args.max_records, "consuming", unit="rec") as progress:
        for item in reader.records(max_records=args.max_records, idle_timeout=args.idle_timeout):
            if isinstance(item, FailedRecord):
                failures.append(item)
                print(f"error: {item}", file=sys.stderr)
            else:
                decoded.append(item)
            progress.update(1)
            if stop:
                break
    seconds = time.monotonic() - started
    consumer.close()
    if dlq is not None:
        dlq.flush()
        dlq.close()
    report = {
        "topic": args.topic,
        "records": len(decoded),
        "failed": len(failures),
        "failures_by_kind": _count(f.error.kind for f in failures),
        "models": sorted({r.model_id for r in decoded}),
        "decoded_bytes": int(sum(4 * r.values.size for r in decoded)),
        "seconds": seconds,
    }
    if args.reference:
        report["reference"] = _compare(decoded, args, resolver, metrics)
    if args.emit == "reconstruction":
        decoded = _reconstructions(decoded, resolver)
        report["emit"] = "reconstruction"
    if args.out:
        _write(decoded, Path(args.out), resolver)
        report["out"] = args.out
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        line = f"decoded {report['records']} records from {args.topic}, {report['failed']} failed"
        if "reference" in report:
            ref = report["reference"]
            line += f"; at the consumer: RMSE {ref['rmse']:.4g}, max |error| {ref['max_abs_error']:.4g}"
            if ref.get("bound_violations") is not None:
                line += f", {ref['bound_violations']} value(s) outside the bound"
        print(line + (f"; wrote {args.out}" if args.out else ""))
    return 0


def _count(kinds) -> dict[str, int]:  # noqa: ANN001
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    return counts


def _sorted(decoded):  # noqa: ANN001, ANN202
    def order(r):  # noqa: ANN001, ANN202
        key = r.key.decode(errors="replace") if r.key else ""
        return (0, int(key), 0, 0) if key.isdigit() else (1, 0, r.partition, r.offset)

    return sorted(decoded, key=order)


def _compare(decoded, args, resolver, metrics) -> dict:  # noqa: ANN001
    """Error of each decoded record against the original with the same index, measured here.

    Values outside the bound (``--check-bound``, else the bound an error-bounded record was coded with) are
    counted in ``latentwire_consumer_bound_violations_total``."""
    import numpy as np

    from compressor.bounded.verify import bound_violations
    from compressor.data import load_records

    by_model: dict[str, object] = {}
    worst, squares, count, violations, matched, checked = 0.0, 0.0, 0, 0, 0, 0
    for rec in decoded:
        bundle = resolver.codec(bytes.fromhex(rec.model_id[:8])).bundle
        data = by_model.get(rec.model_id)
        if data is None:
            is_csv = str(args.reference).endswith((".csv", ".csv.gz"))
            columns = (list(bundle.columns) or None) if is_csv else None
            data = load_records(args.reference, window=bundle.window, columns=columns)
            by_model[rec.model_id] = data
        key = rec.key.decode(errors="replace") if rec.key else ""
        if not key.isdigit():
            continue
        index = int(key)
        if index < len(data.records):
            original = data.records[index]
        elif index == len(data.records) and data.tail is not None:
            original = data.tail
        else:
            continue
        n = min(original.size, rec.values.size)
        x, y = original[:n].astype(np.float64), rec.values[:n].astype(np.float64)
        both_nan = np.isnan(x) & np.isnan(y)
        diff = np.where(both_nan, 0.0, np.abs(y - x))
        finite = np.isfinite(diff)
        labels = (rec.topic, rec.model_id[:8])
        if finite.any():
            metrics.rmse.labels(*labels).observe(float(np.sqrt(np.mean(diff[finite] ** 2))))
            metrics.max_abs_error.labels(*labels).observe(float(diff[finite].max()))
            squares += float((diff[finite] ** 2).sum())
            count += int(finite.sum())
            worst = max(worst, float(diff[finite].max()))
        bound = args.check_bound if args.check_bound is not None else rec.error_bound
        if bound is not None:
            bad = bound_violations(x, y, bound)
            if bad:
                metrics.bound_violations.labels(*labels).inc(bad)
            violations += bad
            checked += 1
        matched += 1
    return {
        "matched": matched,
        "rmse": (squares / max(count, 1)) ** 0.5,
        "max_abs_error": worst,
        "bound": args.check_bound,
        "records_checked_against_a_bound": checked,
        "bound_violations": violations if checked else None,
    }


def _reconstructions(decoded, resolver):  # noqa: ANN001, ANN202
    """Each record replaced by the model's reconstruction of it: one batch per model."""
    import numpy as np

    from compressor.applications.denoise import denoise
    from compressor.data import pad_tail

    by_model: dict[str, list[int]] = {}
    for i, rec in enumerate(decoded):
        by_model.setdefault(rec.model_id, []).append(i)
    out = list(decoded)
    for model_id, rows in by_model.items():
        bundle = resolver.codec(bytes.fromhex(model_id[:8])).bundle
        channels = bundle.channels if bundle.window > 1 else 1
        full = np.stack(
            [
                decoded[i].values
                if decoded[i].values.size == bundle.record_size
                else pad_tail(decoded[i].values, bundle.record_size, channels=channels)
                for i in rows
            ]
        )
        cleaned = denoise(bundle, full)
        for row, i in zip(cleaned, rows, strict=True):
            out[i] = decoded[i]._replace(values=row[: decoded[i].values.size])
    return out


def _write(decoded, path: Path, resolver) -> None:  # noqa: ANN001
    import numpy as np

    ordered = _sorted(decoded)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        import csv

        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            header_written = False
            for rec in ordered:
                bundle = resolver.codec(bytes.fromhex(rec.model_id[:8])).bundle
                channels = bundle.channels if bundle.window > 1 else rec.values.size
                if not header_written:
                    names = (
                        list(bundle.columns)
                        if len(bundle.columns) == channels
                        else [f"x{i}" for i in range(channels)]
                    )
                    writer.writerow(names)
                    header_written = True
                for row in rec.values.reshape(-1, channels):
                    writer.writerow([repr(float(v)) for v in row])
        return
    width = max((r.values.size for r in ordered), default=0)
    out = np.full((len(ordered), width), np.nan, dtype=np.float32)
    for i, rec in enumerate(ordered):
        out[i, : rec.values.size] = rec.values
    np.save(path, out)
