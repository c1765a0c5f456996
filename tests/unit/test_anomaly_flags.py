"""Anomaly flags of the producer and the compress bridge: a causal likelihood per (topic, model) stream."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from compressor.anomaly import reconstruction_errors, scores_of
from compressor.applications.likelihood import LEVEL, SHORT, likelihood
from compressor.codec import Codec
from compressor.errors import ConfigError
from producers.anomaly_flags import AnomalyFlagger
from producers.batching import BatchingProducer
from producers.compress_bridge import CompressTransform
from producers.side_outputs import ANOMALY_HEADER, LIKELIHOOD_HEADER, SideOutputs
from streaming.metrics import BridgeMetrics, ProducerMetrics
from streaming.raw_records import RecordFormat

SHIFT = 2000


def _shifted(n: int = 4000, seed: int = 1) -> np.ndarray:
    """Stationary log-normal scores whose level goes up fivefold at SHIFT and stays there."""
    s = np.exp(0.3 * np.random.default_rng(seed).standard_normal(n)) * 0.01
    s[SHIFT:] *= 5
    return s


def _in_batches(flagger: AnomalyFlagger, stream: tuple[str, str], scores: np.ndarray, seed: int = 0):
    """Feed ``scores`` in batches of random sizes; the concatenated verdicts."""
    cuts = np.sort(np.random.default_rng(seed).choice(np.arange(1, len(scores)), 40, replace=False))
    parts = [flagger(stream, part) for part in np.split(scores, cuts)]
    return np.concatenate([p.likelihood for p in parts]), np.concatenate([p.flags for p in parts])


def test_streamed_likelihood_equals_the_offline_one_per_stream() -> None:
    a, b = _shifted(seed=1), _shifted(seed=2)[::-1].copy()
    a[300] = np.inf  # a record holding NaN/Inf counts as huge
    flagger = AnomalyFlagger()
    # two topics interleaved batch by batch keep apart histories
    like_a, flags_a = _in_batches(flagger, ("a", "m"), a[:1000], seed=0)
    like_b, _ = _in_batches(flagger, ("b", "m"), b, seed=1)
    rest_a, rest_flags = _in_batches(flagger, ("a", "m"), a[1000:], seed=2)
    offline_a = likelihood(a)
    np.testing.assert_allclose(np.concatenate([like_a, rest_a]), offline_a, atol=1e-9)
    np.testing.assert_allclose(like_b, likelihood(b), atol=1e-9)
    np.testing.assert_array_equal(np.concatenate([flags_a, rest_flags]), offline_a >= LEVEL)


def test_a_level_shift_is_flagged_at_the_shift_and_nowhere_else() -> None:
    like, flags = _in_batches(AnomalyFlagger(), ("t", "m"), _shifted())
    flagged = np.flatnonzero(flags)
    assert len(flagged) > 0
    assert SHIFT <= flagged[0] <= SHIFT + SHORT  # within the recent window of the shift
    assert flagged[-1] < SHIFT + 200  # the new level becomes the history: no flags long after
    assert like[:SHIFT].max() < LEVEL


def test_threshold_rule_flags_scores_above_the_threshold_and_needs_one() -> None:
    s = _shifted()
    _, flags = _in_batches(AnomalyFlagger("threshold", threshold=0.03), ("t", "m"), s)
    np.testing.assert_array_equal(flags, s > 0.03)
    with pytest.raises(ConfigError, match="calibrated threshold"):
        AnomalyFlagger("threshold")
    with pytest.raises(ConfigError, match="anomaly rule"):
        AnomalyFlagger("fixed")


def test_state_is_bounded_to_the_most_recent_streams() -> None:
    flagger = AnomalyFlagger(max_streams=3)
    s = _shifted(100)
    for topic in "abcd":
        flagger((topic, "m"), s)
    assert flagger.streams == 3
    # "a" was dropped, so it starts over: no history, likelihood 0.5; "d" goes on from its history
    assert flagger(("a", "m"), s[:5]).likelihood.tolist() == [0.5] * 5
    np.testing.assert_allclose(flagger(("d", "m"), s[:5]).likelihood, likelihood(np.r_[s, s[:5]])[-5:])


def test_producer_flags_by_likelihood_with_both_headers(digits_bundle, digits, recording_producer) -> None:  # noqa: ANN001
    codec = Codec(digits_bundle)
    registry = CollectorRegistry()
    producer = BatchingProducer(
        recording_producer,
        codec,
        "in",
        batch_size=64,
        metrics=ProducerMetrics.get(registry),
        side_outputs=SideOutputs(codec, flag_anomalies=True),
    )
    records = np.vstack([digits[:290], np.full((10, 64), 16.0, np.float32)])  # ends with saturated records
    report = producer.send(records)
    like = likelihood(reconstruction_errors(digits_bundle, records))
    flagged = like >= LEVEL
    assert flagged[-5:].all() and report.anomalies == int(flagged.sum())
    headers = [dict(h or []) for t, _, h in recording_producer.sent if t == "in"]
    assert [LIKELIHOOD_HEADER in h and ANOMALY_HEADER in h for h in headers] == flagged.tolist()
    got = [float(h[LIKELIHOOD_HEADER]) for h in headers if LIKELIHOOD_HEADER in h]
    np.testing.assert_allclose(got, like[flagged], rtol=1e-5)
    labels = {"topic": "in", "model": codec.model_id[:8]}
    assert registry.get_sample_value("latentwire_producer_anomaly_likelihood", labels) == pytest.approx(
        like[-1], abs=1e-9
    )


def test_compress_bridge_counts_records_by_likelihood(digits_bundle, digits) -> None:  # noqa: ANN001
    codec = Codec(digits_bundle)
    registry = CollectorRegistry()
    transform = CompressTransform(
        codec, RecordFormat("f32", (), None), "raw", metrics=BridgeMetrics.get(registry)
    )
    rng = np.random.default_rng(0)
    original = np.tile(digits, (4, 1))[:3000].astype(np.float32)
    noise = np.exp(0.3 * rng.standard_normal((len(original), 1))) * rng.standard_normal(original.shape)
    noise[SHIFT:] *= 10  # reconstruction error up a hundredfold from record SHIFT on
    decoded = (original + noise).astype(np.float32)
    for part in np.array_split(np.arange(len(original)), 30):  # commits of poll batches, in order
        transform._observe(original[part], decoded[part])
    norm = digits_bundle.normalizer
    like = likelihood(scores_of(norm.forward(original), norm.forward(decoded)))
    labels = {"bridge": "compress", "topic": "raw", "model": codec.model_id[:8]}
    counted = registry.get_sample_value("latentwire_bridge_anomalies_total", labels)
    assert counted == (like >= LEVEL).sum() > 0
    assert np.flatnonzero(like >= LEVEL).min() >= SHIFT
    gauge = registry.get_sample_value("latentwire_bridge_anomaly_likelihood", labels)
    assert gauge == pytest.approx(like[-1], abs=1e-9)
