"""Training-time statistics the error-bounded codec keeps in the bundle (``bundle.extra["bounded"]``).

Per column of the record layout: the value range (for ``--relative`` bounds), the mean absolute residual
of every predictor (to expect a scale class for the first block of a record, so records need no per-record
scale bytes), the data's quantum (``null`` when the values sit on no lattice; see
:mod:`compressor.bounded.lattice`) and, when every column has one, each simple predictor's residual
histogram on that lattice (the fitted tables of kind-2 records). All plain JSON floats, so producer and consumer read identical numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from compressor.bounded.lattice import column_quanta
from compressor.bounded.predictors import PREDICTORS, forward
from compressor.bounded.tables import RADIUS

__all__ = [
    "PREFERENCE_KEY",
    "STATS_KEY",
    "WIN_RATE_KEY",
    "fit_stats",
    "latent_counts",
    "lattice_tables",
    "smallest_range",
    "value_ranges",
]

STATS_KEY = "bounded"
#: encoder hints measured at training (see :mod:`compressor.bounded.hints`); they never change what a
#: consumer decodes. The fraction of held-back records on which the autoencoder predictor won:
WIN_RATE_KEY = "autoencoder_win_rate"
#: per preset bound code (a string key), whether the data's lattice beat the plain grid where it is finer:
PREFERENCE_KEY = "lattice_preference"


def fit_stats(records: np.ndarray, layout: tuple[int, int]) -> dict[str, Any]:
    """Statistics of finite training ``records`` (N, D) laid out as ``layout`` = (rows, cols)."""
    rows, cols = layout
    x = np.asarray(records, dtype=np.float64).reshape(-1, rows, cols)
    x = x[np.isfinite(x).all(axis=(1, 2))]
    if len(x) == 0:
        return {}
    center = x.mean(axis=0)
    scales = {}
    for name in PREDICTORS:
        r = np.abs(forward(name, x, center))
        scales[name] = [float(v) for v in r.mean(axis=(0, 1))]
    quanta = column_quanta(x)
    out = {
        "layout": [rows, cols],
        "value_min": [float(v) for v in x.min(axis=(0, 1))],
        "value_max": [float(v) for v in x.max(axis=(0, 1))],
        "residual_scale": scales,
        "quantum": quanta,
    }
    if all(u is not None for u in quanta):
        out["lattice_tables"] = lattice_tables(x, np.asarray(quanta, dtype=np.float64))
    return out


def lattice_tables(x: np.ndarray, quanta: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per simple predictor, the histogram of its residuals on the data's lattice (units of the quantum),
    over ``[-RADIUS, RADIUS]`` trimmed to its nonzero span, plus the count beyond (the escape)."""
    q = np.rint(x / quanta)
    center = np.rint(x.mean(axis=0) / quanta)
    out = {}
    for name in PREDICTORS:
        r = forward(name, q, center)
        inside = r[np.abs(r) <= RADIUS].astype(np.int64)
        counts = np.bincount(inside - inside.min(), minlength=1) if inside.size else np.zeros(1, np.int64)
        low = int(inside.min()) if inside.size else 0
        nz = np.flatnonzero(counts)
        first, last = (int(nz[0]), int(nz[-1])) if nz.size else (0, 0)
        out[name] = {
            "low": low + first,
            "counts": [int(c) for c in counts[first : last + 1]],
            "escape": int(r.size - inside.size),
        }
    return out


def value_ranges(bundle: Any) -> np.ndarray | None:
    """Per-column training value range (max - min) of a bundle, or None if it has no bounded statistics."""
    stats = (bundle.extra or {}).get(STATS_KEY) or {}
    lo, hi = stats.get("value_min"), stats.get("value_max")
    if not lo or not hi:
        return None
    return np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64)


def smallest_range(ranges: np.ndarray | None) -> float | None:
    """The smallest positive one of :func:`value_ranges` (what a relative bound is a fraction of, so it
    holds on every column), or None if there are no ranges or no positive one."""
    if ranges is None or not (ranges > 0).any():
        return None
    return float(ranges[ranges > 0].min())


def latent_counts(codes: np.ndarray) -> list[dict[str, Any]]:
    """Per latent dimension, the histogram of training codes (trimmed to its nonzero span)."""
    out = []
    for column in np.asarray(codes, dtype=np.int64).T:
        low, high = int(column.min()), int(column.max())
        counts = np.bincount(column - low, minlength=high - low + 1)
        out.append({"low": low, "counts": [int(c) for c in counts]})
    return out
