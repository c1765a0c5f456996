"""Generative modelling: decode draws from a variational model's prior ``N(0, I)`` into new records."""

from __future__ import annotations

import numpy as np

from compressor.bundle import Bundle
from compressor.errors import ConfigError

__all__ = ["GENERATIVE_MODELS", "mmd_rbf", "sample"]

#: variants whose latent space has a prior to sample from
GENERATIVE_MODELS = ("variational",)


def sample(bundle: Bundle, n: int, *, seed: int | None = None, temperature: float = 1.0) -> np.ndarray:
    """``n`` new records (n, D) float32 in original units; ``temperature`` scales the prior's std."""
    if bundle.model_name not in GENERATIVE_MODELS:
        raise ConfigError(
            f"model {bundle.model_name!r} has no prior to sample from; train with --model variational"
        )
    if n < 0:
        raise ConfigError(f"number of samples must be non-negative, got {n}")
    z = np.random.default_rng(seed).standard_normal((n, bundle.latent_dim)).astype(np.float32) * temperature
    if n == 0:
        return np.zeros((0, bundle.record_size), np.float32)
    return bundle.normalizer.inverse(bundle.predictor("decoder")(z))


def mmd_rbf(x: np.ndarray, y: np.ndarray, bandwidth: float | None = None) -> float:
    """Squared maximum mean discrepancy (biased estimate) between samples ``x`` and ``y`` with a Gaussian
    kernel; the bandwidth defaults to the median pairwise distance of the pooled samples."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    pooled = np.concatenate([x, y])
    sq = np.sum(pooled**2, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * pooled @ pooled.T, 0.0)
    if bandwidth is None:
        bandwidth = float(np.sqrt(np.median(d2[d2 > 0]))) if np.any(d2 > 0) else 1.0
    k = np.exp(-d2 / (2 * bandwidth**2))
    n = len(x)
    return float(k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean())
