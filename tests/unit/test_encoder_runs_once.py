"""Side outputs of the producer: anomaly flags and features from the one encoder pass of each batch."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from compressor.anomaly import reconstruction_errors
from compressor.codec import Codec
from compressor.inference import Predictor
from producers.batching import BatchingProducer
from producers.side_outputs import ANOMALY_HEADER, SideOutputs
from streaming.metrics import ProducerMetrics

BATCH = 100


def _model_calls(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Count every call of a Predictor from now on, by the id of its Keras model."""
    calls: Counter = Counter()
    call = Predictor.__call__

    def counted(self: Predictor, x: np.ndarray) -> np.ndarray:
        calls[id(self.model)] += 1
        return call(self, x)

    monkeypatch.setattr(Predictor, "__call__", counted)
    return calls


def test_encoder_runs_once_per_batch_with_flags_and_features(
    digits_bundle, digits: np.ndarray, recording_producer, monkeypatch: pytest.MonkeyPatch
) -> None:
    codec = Codec(digits_bundle)
    codec.encode(digits[:1])  # builds the predictors, whose self-check calls the models, before counting
    producer = BatchingProducer(
        recording_producer,
        codec,
        "in",
        batch_size=BATCH,
        metrics=ProducerMetrics.get(CollectorRegistry()),
        side_outputs=SideOutputs(
            codec, anomalies_topic="in.anomalies", features_topic="in.features", anomaly_rule="threshold"
        ),
    )
    records = np.vstack([digits[:290], np.full((10, 64), 16.0, np.float32)])  # ends with saturated records
    calls = _model_calls(monkeypatch)
    report = producer.send(records)
    monkeypatch.undo()

    batches = -(-len(records) // BATCH)
    assert calls[id(digits_bundle.encoder)] == batches
    # the delivered (quantized) reconstruction, and the model's own one the anomaly score is taken on
    assert calls[id(digits_bundle.decoder)] == 2 * batches

    by_topic = {
        topic: [(value, dict(headers)) for t, value, headers in recording_producer.sent if t == topic]
        for topic in ("in", "in.anomalies", "in.features")
    }
    features = np.stack([np.frombuffer(value, "<f4") for value, _ in by_topic["in.features"]])
    np.testing.assert_allclose(features, codec.latents(records), rtol=1e-6, atol=1e-6)
    scores = reconstruction_errors(digits_bundle, records)  # what `latentwire detect` reports
    flagged = scores > digits_bundle.anomaly.threshold
    assert flagged[-10:].all() and report.anomalies == int(flagged.sum())
    headers = [h for _, h in by_topic["in"]]
    assert [ANOMALY_HEADER in h for h in headers] == flagged.tolist()
    got = [float(h[ANOMALY_HEADER]) for h in headers if ANOMALY_HEADER in h]
    np.testing.assert_allclose(got, scores[flagged], rtol=1e-5)
    assert len(by_topic["in.anomalies"]) == report.anomalies


def test_analysis_with_the_encoding_latents_matches_one_that_runs_the_encoder(
    digits_bundle, digits: np.ndarray
) -> None:
    codec = Codec(digits_bundle)
    side = SideOutputs(codec, flag_anomalies=True, features_topic="f")
    encoded = codec.encode(digits[:64])
    assert encoded.latents is not None
    own = SideOutputs(codec, flag_anomalies=True, features_topic="f").analyse(digits[:64])
    shared = side.analyse(digits[:64], encoded.latents)
    np.testing.assert_array_equal(shared.scores, own.scores)
    np.testing.assert_array_equal(shared.flags, own.flags)
    np.testing.assert_array_equal(shared.likelihood, own.likelihood)
    assert shared.features == own.features
