"""Classical smoothers along each record's time axis, and the noise estimate."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.applications.smoothers import noise_sigma, savgol, wavelet


def _sines(n: int = 20, window: int = 128, channels: int = 3) -> np.ndarray:
    t = np.arange(window)[None, :, None]
    freq = np.arange(1, channels + 1)[None, None, :] / 64
    phase = np.random.default_rng(1).uniform(0, 6, (n, 1, channels))
    return (np.sin(2 * np.pi * freq * t + phase) * 10).reshape(n, -1).astype(np.float32)


@pytest.mark.parametrize("smoother", [savgol, wavelet])
def test_smoothers_remove_white_noise_per_channel(smoother):
    clean = _sines()
    noisy = clean + np.random.default_rng(2).normal(0, 2.0, clean.shape).astype(np.float32)
    out = smoother(noisy, 128, 3)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert np.mean((out - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)


def test_row_records_are_smoothed_along_the_row():
    clean = _sines(channels=1)  # (20, 128): one row per record
    noisy = clean + np.random.default_rng(3).normal(0, 2.0, clean.shape).astype(np.float32)
    assert np.mean((savgol(noisy, 1, 128) - clean) ** 2) < np.mean((noisy - clean) ** 2)


def test_noise_sigma_estimates_each_channel():
    clean = _sines(n=50)
    std = np.array([0.5, 1.0, 2.0], np.float32)
    noisy = clean + (np.random.default_rng(4).standard_normal((50, 128, 3)) * std).reshape(50, -1)
    est = noise_sigma(noisy.astype(np.float32), 128, 3).mean(axis=0)
    np.testing.assert_allclose(est, std, rtol=0.2)
