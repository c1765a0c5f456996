"""Anomaly detection by reconstruction error.

A record's score is the mean squared difference between the normalized record and the model's
(unquantized) reconstruction of it. A record is flagged when its score exceeds the threshold frozen in the
bundle at training time: a high quantile of the scores of the held-back validation records, stored as
``bundle.extra["anomaly"]``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from compressor.bundle import Bundle
from compressor.errors import BundleError
from compressor.inference import Predictor

__all__ = ["DEFAULT_QUANTILE", "calibrate", "reconstruction_errors", "score", "threshold_of"]

log = logging.getLogger(__name__)

#: the validation-score quantile used as threshold: about 1% of normal records are flagged
DEFAULT_QUANTILE = 0.99


def _normalized_errors(encoder: Any, decoder: Any, x_norm: np.ndarray) -> np.ndarray:
    x_norm = np.asarray(x_norm, np.float32)
    if len(x_norm) == 0:
        return np.zeros(0, np.float64)
    rec = Predictor(decoder)(Predictor(encoder)(x_norm))
    return np.mean((rec.astype(np.float64) - x_norm) ** 2, axis=1)


def reconstruction_errors(bundle: Bundle, records: np.ndarray) -> np.ndarray:
    """Anomaly score of each record (N,): mean squared reconstruction error in normalized units.
    Records holding NaN/Inf score ``inf``."""
    records = np.asarray(records, np.float32)
    finite = np.isfinite(records).all(axis=1)
    out = np.full(len(records), np.inf)
    out[finite] = _normalized_errors(
        bundle.encoder, bundle.decoder, bundle.normalizer.forward(records[finite])
    )
    return out


def calibrate(encoder: Any, decoder: Any, x_norm: np.ndarray, quantile: float = DEFAULT_QUANTILE) -> dict:
    """The ``bundle.extra["anomaly"]`` entry: threshold = ``quantile`` of the scores of ``x_norm``."""
    errors = _normalized_errors(encoder, decoder, x_norm)
    return {
        "score": "reconstruction_mse_normalized",
        "quantile": float(quantile),
        "threshold": float(np.quantile(errors, quantile)) if len(errors) else float("inf"),
        "calibration_records": int(len(errors)),
        "calibration_mean": float(errors.mean()) if len(errors) else 0.0,
    }


def threshold_of(bundle: Bundle) -> float:
    try:
        return float(bundle.extra["anomaly"]["threshold"])
    except (KeyError, TypeError, ValueError):
        raise BundleError(
            "the bundle has no calibrated anomaly threshold (bundles trained before anomaly calibration); "
            "retrain it or pass a threshold"
        ) from None


def score(
    bundle: Bundle, records: np.ndarray, threshold: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, flags)`` for ``records`` (N, D): ``scores > threshold``
    (the bundle's threshold by default)."""
    t = threshold_of(bundle) if threshold is None else float(threshold)
    scores = reconstruction_errors(bundle, records)
    return scores, scores > t
