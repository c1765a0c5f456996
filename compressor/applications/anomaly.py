"""Anomaly detection by reconstruction error: score and flag records with a bundle.

The score and the threshold calibrated at training time live in the core module :mod:`compressor.anomaly`
(the producer's anomaly flags and the compress bridge use the same ones); this is the user-level function
behind ``latentwire detect``.
"""

from __future__ import annotations

import numpy as np

from compressor.anomaly import reconstruction_errors, threshold_of
from compressor.bundle import Bundle

__all__ = ["score"]


def score(
    bundle: Bundle, records: np.ndarray, threshold: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, flags)`` for ``records`` (N, D): ``scores > threshold``
    (the bundle's threshold by default)."""
    t = threshold_of(bundle) if threshold is None else float(threshold)
    scores = reconstruction_errors(bundle, records)
    return scores, scores > t
