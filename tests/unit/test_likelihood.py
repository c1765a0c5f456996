"""Anomaly likelihood: causal, the same offline and streaming, high at a burst of large scores."""

from __future__ import annotations

import numpy as np

from compressor.applications.likelihood import MIN_HISTORY, StreamingLikelihood, likelihood


def _scores() -> np.ndarray:
    s = np.exp(np.random.default_rng(0).standard_normal(3000))
    s[2500:2510] *= 1e3
    return s


def test_streaming_equals_offline():
    s = _scores()
    s[100] = np.inf
    stream = StreamingLikelihood(history=500)
    np.testing.assert_allclose([stream.update(v) for v in s], likelihood(s, history=500), atol=1e-9)


def test_burst_is_likely_anomalous_and_the_rest_is_not():
    like = likelihood(_scores())
    assert like[2505] > 0.9999
    assert np.argmax(like) in range(2500, 2512)
    assert (like[:2500] > 0.9999).sum() == 0
    assert np.all(like[:MIN_HISTORY] == 0.5)


def test_causal():
    s = _scores()
    later = s.copy()
    later[2000:] = 1.0
    np.testing.assert_array_equal(likelihood(s)[:2000], likelihood(later)[:2000])
