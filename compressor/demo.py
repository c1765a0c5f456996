"""The end-to-end demo: train, produce compressed through Kafka, consume in another process, report.

The data are scikit-learn's bundled handwritten digits (1,797 real 8x8 scans, UCI ML repository), so the
demo needs no download and no data outside the installed packages.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DemoConfig", "run_demo"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoConfig:
    workdir: Path
    bootstrap_servers: str | None = None
    broker_port: int = 9092
    epochs: int = 60
    repeat: int = 5
    error_bound: float | None = None


def _digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().data.astype(np.float32)


def _produce_raw(bootstrap: str, topic: str, records: np.ndarray, compression: str | None) -> int:
    """Publish raw float32 payloads and return the bytes the client sent on the wire."""
    from kafka import KafkaProducer

    from producers.wire_bytes import OutgoingBytes

    producer = KafkaProducer(
        bootstrap_servers=bootstrap, compression_type=compression, linger_ms=5, batch_size=256 * 1024
    )
    wire = OutgoingBytes(producer)
    for i, row in enumerate(records):
        producer.send(topic, value=row.astype("<f4").tobytes(), key=str(i).encode())
    producer.flush()
    total = wire.total
    producer.close()
    return total


def _produce_latent(
    bootstrap: str, topic: str, bundle: Any, records: np.ndarray, error_bound: float | None
) -> dict:
    from kafka import KafkaProducer

    from compressor.codec import Codec
    from producers.batching import BatchingProducer
    from producers.wire_bytes import OutgoingBytes

    codec = Codec(bundle) if error_bound is None else Codec(bundle, error_bound=error_bound)  # type: ignore[call-arg]
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=256 * 1024)
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
        "seconds": seconds,
    }


def _consume_in_subprocess(
    bootstrap: str, topic: str, bundle_dir: Path, reference: Path, n: int, bound: float | None
) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "compressor",
        "consume",
        "--topic",
        topic,
        "--model",
        str(bundle_dir),
        "--bootstrap-servers",
        bootstrap,
        "--reference",
        str(reference),
        "--max-records",
        str(n),
        "--idle-timeout",
        "30",
        "--json",
    ]
    if bound is not None:
        cmd += ["--check-bound", repr(bound)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"consumer process failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def run_demo(config: DemoConfig, *, progress: bool | None = None) -> dict:
    from compressor.broker import BrokerConfig, LocalBroker
    from compressor.bundle import save_bundle
    from compressor.training import TrainingConfig, train

    workdir = config.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    digits = _digits()
    # a stream a few times longer than the data set, so throughput figures mean something
    stream = np.tile(digits, (config.repeat, 1))
    reference = workdir / "digits_stream.npy"
    np.save(reference, stream)

    _say("training a dense autoencoder on scikit-learn's handwritten digits (1797 x 64 values)")
    bundle, summary = train(
        digits,
        window=1,
        channels=digits.shape[1],
        shape=(8, 8),
        config=TrainingConfig(epochs=config.epochs),
        progress=progress,
    )
    bundle_dir = workdir / "bundle"
    model_id = save_bundle(bundle, bundle_dir)

    broker = None
    bootstrap = config.bootstrap_servers
    if bootstrap is None:
        broker = LocalBroker(BrokerConfig(port=config.broker_port))
        _say(f"starting a local Kafka broker on {broker.bootstrap_servers} (unless one is running)")
        broker.__enter__()
        bootstrap = broker.bootstrap_servers
    try:
        run = uuid.uuid4().hex[:8]
        topic = f"latentwire-demo-{run}"
        _say(f"producing {len(stream)} records to {topic} as latents")
        latent = _produce_latent(bootstrap, topic, bundle, stream, config.error_bound)
        _say("producing the same records raw (float32), without and with Kafka's zstd, for comparison")
        raw_none = _produce_raw(bootstrap, f"{topic}-raw", stream, None)
        raw_zstd = _produce_raw(bootstrap, f"{topic}-raw-zstd", stream, "zstd")
        _say("consuming and decoding in a separate process")
        consumed = _consume_in_subprocess(
            bootstrap, topic, bundle_dir, reference, len(stream), config.error_bound
        )
    finally:
        if broker is not None:
            broker.__exit__(None, None, None)

    raw_bytes = int(stream.size * 4)
    ref = consumed.get("reference", {})
    return {
        "data": "scikit-learn digits (8x8 images, 64 values per record)",
        "model_id": model_id,
        "bundle": str(bundle_dir),
        "records": int(len(stream)),
        "records_received": consumed["records"],
        "records_failed": consumed["failed"],
        "raw_bytes": raw_bytes,
        "latentwire_payload_bytes": latent["payload_bytes"],
        "wire_bytes": {"raw": raw_none, "raw_zstd": raw_zstd, "latentwire": latent["wire_bytes"]},
        "saving_vs_raw_zstd": 1 - latent["wire_bytes"] / max(raw_zstd, 1),
        "wire_ratio_vs_raw_zstd": raw_zstd / max(latent["wire_bytes"], 1),
        "consumer_rmse": ref.get("rmse"),
        "consumer_max_abs_error": ref.get("max_abs_error"),
        "consumer_bound_violations": ref.get("bound_violations"),
        "error_bound": config.error_bound,
        "value_range": float(stream.max() - stream.min()),
        "training": {
            "epochs": summary.epochs_run,
            "validation_loss": summary.validation_loss,
            "heldback_rmse": summary.heldback_rmse,
        },
        "produce_records_per_second": latent["sent"] / max(latent["seconds"], 1e-9),
    }


def _say(text: str) -> None:
    print(f"[demo] {text}", file=sys.stderr, flush=True)


def format_report(report: dict) -> str:
    w = report["wire_bytes"]
    lines = [
        "latentwire demo",
        f"  data                 {report['data']}",
        f"  model                {report['model_id'][:12]} ({report['bundle']})",
        f"  records              {report['records']} sent, {report['records_received']} decoded at the consumer, "
        f"{report['records_failed']} failed",
        f"  raw size             {report['raw_bytes']:,} bytes as float32",
        f"  bytes on the wire    raw {w['raw']:,} | raw + Kafka zstd {w['raw_zstd']:,} | latentwire {w['latentwire']:,}",
        f"  saving vs zstd       {100 * report['saving_vs_raw_zstd']:.1f}% ({report['wire_ratio_vs_raw_zstd']:.1f}x fewer bytes)",
        f"  error at consumer    RMSE {report['consumer_rmse']:.3f}, max |error| {report['consumer_max_abs_error']:.3f} "
        f"(values span {report['value_range']:.0f})",
    ]
    if report.get("error_bound") is not None:
        lines.append(
            f"  error bound          {report['error_bound']}: {report['consumer_bound_violations']} value(s) outside"
        )
    lines.append(f"  produce throughput   {report['produce_records_per_second']:,.0f} records/s")
    return "\n".join(lines)
