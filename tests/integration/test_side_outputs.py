"""Anomaly flags, an anomalies topic and a features topic, published next to the compressed records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaConsumer, KafkaProducer
from prometheus_client import CollectorRegistry

from compressor.applications.likelihood import LEVEL, SHORT
from compressor.codec import Codec
from producers.batching import BatchingProducer
from producers.side_outputs import ANOMALY_HEADER, LIKELIHOOD_HEADER, MODEL_HEADER, SideOutputs
from streaming.metrics import ProducerMetrics

pytestmark = pytest.mark.integration


def _read(bootstrap: str, topic: str, n: int) -> list:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=15000
    )
    out = [m for _, m in zip(range(n), consumer, strict=False)]
    consumer.close()
    return out


def test_anomalies_are_flagged_published_and_counted(
    kafka_bootstrap: str, topic_factory, digits_bundle, digits: np.ndarray
) -> None:
    topic, anomalies, features = topic_factory(), topic_factory(), topic_factory()
    rng = np.random.default_rng(3)
    # 200 real digits, then 20 records of uniform noise over the same value range: nothing like a digit
    noise = rng.uniform(0, 16, size=(20, 64)).astype(np.float32)
    records = np.vstack([digits[-200:], noise])
    registry = CollectorRegistry()
    codec = Codec(digits_bundle)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    batching = BatchingProducer(
        producer,
        codec,
        topic,
        metrics=ProducerMetrics.get(registry),
        side_outputs=SideOutputs(codec, anomalies_topic=anomalies, features_topic=features),
    )
    report = batching.send(records, keys=[str(i).encode() for i in range(len(records))])
    batching.flush()
    producer.close()

    flagged = set()
    for message in _read(kafka_bootstrap, topic, len(records)):
        headers = dict(message.headers)
        if ANOMALY_HEADER in headers:
            assert float(headers[LIKELIHOOD_HEADER]) >= LEVEL
            flagged.add(int(message.key))
    # by likelihood against the records before: no real digit, and the noise once the recent mean of
    # SHORT scores has moved off the digits' history
    assert set(range(200 + SHORT, 220)) <= flagged <= set(range(200, 220))
    assert report.anomalies == len(flagged)
    copies = _read(kafka_bootstrap, anomalies, len(flagged))
    assert {int(m.key) for m in copies} == flagged
    labels = {"topic": topic, "model": digits_bundle.model_id[:8]}
    assert registry.get_sample_value("latentwire_producer_anomalies_total", labels) == len(flagged)

    feats = _read(kafka_bootstrap, features, len(records))
    assert len(feats) == len(records)
    latents = {int(m.key): np.frombuffer(m.value, "<f4") for m in feats}
    np.testing.assert_allclose(latents[0], codec.latents(records[:1])[0], rtol=1e-5, atol=1e-5)
    assert dict(feats[0].headers)[MODEL_HEADER] == digits_bundle.model_id.encode()


def test_cli_flags_anomalies_and_consumer_emits_reconstruction(
    kafka_bootstrap: str, topic: str, digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path
) -> None:
    data = tmp_path / "digits.npy"
    np.save(data, digits[:300])
    cli = [sys.executable, "-m", "latentwire"]
    produced = subprocess.run(
        [*cli, "produce", "--model", str(digits_bundle_dir), "--data", str(data), "--topic", topic,
         "--bootstrap-servers", kafka_bootstrap, "--flag-anomalies", "--json"],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(produced.stdout)
    assert report["records"] == 300 and report["anomalies"] is not None
    out = tmp_path / "clean.npy"
    subprocess.run(
        [*cli, "consume", "--topic", topic, "--model", str(digits_bundle_dir), "--bootstrap-servers",
         kafka_bootstrap, "--max-records", "300", "--emit", "reconstruction", "--out", str(out), "--json"],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    cleaned = np.load(out)
    from compressor.applications.denoise import denoise
    from compressor.bundle import load_bundle

    decoded = Codec(load_bundle(digits_bundle_dir)).encode(digits[:300]).decoded
    np.testing.assert_allclose(
        cleaned, denoise(load_bundle(digits_bundle_dir), decoded), rtol=1e-4, atol=1e-3
    )
