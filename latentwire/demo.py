"""The end-to-end demo: train, produce compressed through Kafka, consume in another process, report.

The data are four minutes of a real electrocardiogram (MIT-BIH Arrhythmia Database record 100, both leads,
360 Hz; ODC-BY, see ``latentwire/demo_data/SOURCE.md``) that ship with the package, so the demo needs no
download. The model trains on the first 60% of the windows; the held-back rest is streamed. The same records
cross the broker four ways: raw float32, raw with Kafka's zstd, as fixed-rate latents, and error-bounded.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DemoConfig", "format_report", "run_demo"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoConfig:
    workdir: Path
    bootstrap_servers: str | None = None
    broker_port: int = 9092
    epochs: int = 100
    window: int = 128
    repeat: int = 10
    #: error bound of the bounded stream, as a fraction of the training data's value range
    relative_bound: float = 1e-2


DEMO_DATA = Path(__file__).resolve().parent / "demo_data" / "mitdb100_4min.csv"
TRAIN_FRACTION = 0.6


def _ecg(window: int):  # noqa: ANN202 - a RecordSet
    from compressor.data import load_records

    return load_records(DEMO_DATA, window=window)


def _produce_raw(bootstrap: str, topic: str, records: np.ndarray, compression: str | None) -> int:
    """Publish raw float32 payloads and return the bytes the client sent on the wire."""
    from streaming.client_config import KafkaConfig
    from streaming.clients import make_producer
    from streaming.wire_bytes import OutgoingBytes

    producer = make_producer(KafkaConfig(bootstrap), compression_type=compression)
    wire = OutgoingBytes(producer)
    for i, row in enumerate(records):
        producer.send(topic, value=row.astype("<f4").tobytes(), key=str(i).encode())
    producer.flush()
    total = wire.total
    producer.close()
    return total


def _produce_latent(bootstrap: str, topic: str, codec: Any, records: np.ndarray) -> dict:
    from producers.batching import BatchingProducer
    from streaming.client_config import KafkaConfig
    from streaming.clients import make_producer
    from streaming.wire_bytes import OutgoingBytes

    producer = make_producer(KafkaConfig(bootstrap))
    wire = OutgoingBytes(producer)
    batching = BatchingProducer(producer, codec, topic, dead_letter_topic=f"{topic}.dlq")
    started = time.monotonic()
    report = batching.send(records, keys=[str(i).encode() for i in range(len(records))])
    batching.flush()
    seconds = time.monotonic() - started
    total = wire.total
    producer.close()
    return {
        "sent": report.sent,
        "payload_bytes": report.payload_bytes,
        "wire_bytes": total,
        "records_per_second": report.sent / max(seconds, 1e-9),
    }


def _consume_in_subprocesses(
    bootstrap: str, topics: list[str], bundle_dir: Path, reference: Path, n: int
) -> list[dict]:
    """Decode each of ``topics`` in its own ``latentwire consume`` process, which measures the error
    itself; the processes run side by side."""
    from latentwire.side_by_side import run_side_by_side

    commands = [
        [sys.executable, "-m", "latentwire", "consume",
         "--topic", topic, "--model", str(bundle_dir), "--bootstrap-servers", bootstrap,
         "--reference", str(reference), "--max-records", str(n), "--idle-timeout", "30", "--json"]
        for topic in topics
    ]  # fmt: skip
    reports = []
    for done in run_side_by_side(commands):
        if done.returncode != 0:
            raise RuntimeError(f"consumer process failed ({done.returncode}): {done.stderr[-2000:]}")
        reports.append(json.loads(done.stdout))
    return reports


def _stream_report(produced: dict, consumed: dict) -> dict:
    ref = consumed.get("reference", {})
    return {
        "records_received": consumed["records"],
        "records_failed": consumed["failed"],
        "payload_bytes": produced["payload_bytes"],
        "wire_bytes": produced["wire_bytes"],
        "produce_records_per_second": produced["records_per_second"],
        "consumer_rmse": ref.get("rmse"),
        "consumer_max_abs_error": ref.get("max_abs_error"),
        "consumer_bound_violations": ref.get("bound_violations"),
    }


def run_demo(config: DemoConfig, *, progress: bool | None = None) -> dict:
    from compressor.bundle import save_bundle
    from compressor.codec import Codec
    from compressor.error_bound import ErrorBound
    from compressor.training import TrainingConfig, train
    from streaming.broker import BrokerConfig, LocalBroker

    workdir = config.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    data = _ecg(config.window)
    fit, held_back = data.split(TRAIN_FRACTION)
    # the held-back windows, streamed a few times so throughput figures mean something
    stream = np.tile(held_back.records, (config.repeat, 1))
    reference = workdir / "ecg_stream.npy"
    np.save(reference, stream)

    _say(
        f"training a dense autoencoder on {len(fit.records)} windows of {data.window} samples x "
        f"{data.channels} ECG leads (MIT-BIH record 100)"
    )
    bundle, summary = train(
        fit.records,
        window=data.window,
        channels=data.channels,
        columns=data.columns,
        shape=data.shape,
        config=TrainingConfig(epochs=config.epochs),
        progress=progress,
    )
    bundle_dir = workdir / "bundle"
    model_id = save_bundle(bundle, bundle_dir)
    bound = ErrorBound.resolve(bundle, config.relative_bound, relative=True)

    broker = None
    bootstrap = config.bootstrap_servers
    if bootstrap is None:
        broker = LocalBroker(BrokerConfig(port=config.broker_port))
        _say(f"starting a local Kafka broker on {broker.bootstrap_servers} (unless one is running)")
        broker.__enter__()
        bootstrap = broker.bootstrap_servers
    try:
        topic = f"latentwire-demo-{uuid.uuid4().hex[:8]}"
        _say(f"producing {len(stream)} records to {topic} as fixed-rate latents")
        fixed = _produce_latent(bootstrap, topic, Codec(bundle), stream)
        _say(f"producing them again to {topic}-bounded, every value within {bound.value:g}")
        bounded = _produce_latent(bootstrap, f"{topic}-bounded", Codec(bundle, error_bound=bound), stream)
        _say("producing the same records raw (float32), without and with Kafka's zstd, for comparison")
        raw_none = _produce_raw(bootstrap, f"{topic}-raw", stream, None)
        raw_zstd = _produce_raw(bootstrap, f"{topic}-raw-zstd", stream, "zstd")
        _say("consuming and decoding both latent topics in separate processes")
        fixed_in, bounded_in = _consume_in_subprocesses(
            bootstrap, [topic, f"{topic}-bounded"], bundle_dir, reference, len(stream)
        )
    finally:
        if broker is not None:
            broker.__exit__(None, None, None)

    return {
        "data": f"ECG, MIT-BIH record 100, 2 leads, windows of {data.window} samples "
        f"({data.record_size} values per record), held-back part",
        "model_id": model_id,
        "bundle": str(bundle_dir),
        "records": int(len(stream)),
        "raw_bytes": int(stream.size * 4),
        "value_range": float(stream.max() - stream.min()),
        "wire_bytes": {"raw": raw_none, "raw_zstd": raw_zstd},
        "fixed_rate": _stream_report(fixed, fixed_in),
        "error_bounded": {"error_bound": bound.value, **_stream_report(bounded, bounded_in)},
        "training": {
            "epochs": summary.epochs_run,
            "validation_loss": summary.validation_loss,
            "heldback_rmse": summary.heldback_rmse,
        },
    }


def demo_succeeded(report: dict) -> bool:
    """Every record arrived and decoded in both latent streams, and no value broke the bound."""
    streams = (report["fixed_rate"], report["error_bounded"])
    complete = all(s["records_received"] == report["records"] and not s["records_failed"] for s in streams)
    return complete and report["error_bounded"]["consumer_bound_violations"] == 0


def _say(text: str) -> None:
    print(f"[demo] {text}", file=sys.stderr, flush=True)


def format_report(report: dict) -> str:
    w, f, b = report["wire_bytes"], report["fixed_rate"], report["error_bounded"]
    zstd = w["raw_zstd"]
    lines = [
        "latentwire demo",
        f"  data              {report['data']}, streamed {report['records']} records",
        f"  model             {report['model_id'][:12]} ({report['bundle']})",
        f"  raw size          {report['raw_bytes']:,} bytes as float32",
        "",
        "  stream                   bytes on the wire   vs zstd   decoded at the consumer   error there",
        f"  raw float32              {w['raw']:>17,}   {zstd / max(w['raw'], 1):>6.2f}x",
        f"  raw + Kafka zstd         {zstd:>17,}   {1:>6.2f}x",
    ]
    for name, s in (("latentwire fixed-rate", f), ("latentwire bounded", b)):
        error = f"RMSE {s['consumer_rmse']:.3g}, max {s['consumer_max_abs_error']:.3g}"
        lines.append(
            f"  {name:<24} {s['wire_bytes']:>17,}   {zstd / max(s['wire_bytes'], 1):>6.2f}x   "
            f"{s['records_received']:>6} ok, {s['records_failed']} failed       {error}"
        )
    lines += [
        "",
        f"  error bound       every value within {b['error_bound']:.3g} (1% of the training value range): "
        f"{b['consumer_bound_violations']} value(s) outside, checked at the consumer",
        "  fixed-rate        bounds no single value: its max error is what the model achieves",
    ]
    return "\n".join(lines)
