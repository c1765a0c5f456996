"""Nearest-neighbour distance of each window of a series: the shape score behind matrix-profile discords.

Each window of ``W`` rows is z-normalized per channel (its own mean removed, divided by its own standard
deviation, floored so a flat window becomes zeros rather than amplified rounding noise) and compared by
Euclidean distance with every *reference* window (the training windows a bundle keeps) and every other
window of the series itself starting at least ``exclusion`` rows away (``W``: sharing no row with it). A window whose
shape occurs nowhere else, neither in training nor elsewhere in the series, has a large distance: that
catches what a reconstruction error misses (a stretch of plausible values in an implausible order, a
stuck sensor whose flat line the model reconstructs well). Distances are per value (divided by
``sqrt(W * C)``), so they compare across window sizes.

:func:`nearest_distances` compares a window with all others (offline, a discord search);
``causal=True`` only with windows that ended before it started to overlap it, which a stream can compute.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STD_FLOOR", "nearest_distances", "znormalized"]

#: smallest per-window standard deviation divided by, in the bundle's normalized units (training std = 1)
STD_FLOOR = 0.01
#: query windows compared at once (bounds the memory of the distance matrix)
CHUNK = 256


def znormalized(windows: np.ndarray, channels: int) -> np.ndarray:
    """``(N, W * C)`` windows, each channel z-normalized over the window's rows (row-major layout)."""
    n = len(windows)
    w = np.asarray(windows, np.float64).reshape(n, -1, channels)
    centred = w - w.mean(axis=1, keepdims=True)
    std = np.sqrt((centred**2).mean(axis=1, keepdims=True))
    return (centred / np.maximum(std, STD_FLOOR)).reshape(n, -1)


def nearest_distances(
    windows: np.ndarray, reference: np.ndarray, *, exclusion: int, causal: bool = False, every: int = 1
) -> np.ndarray:
    """Distance per value from every ``every``-th of ``windows`` (N, F; window ``i`` starts at row ``i``)
    to its nearest neighbour among ``reference`` (R, F) and among ``windows`` starting at least
    ``exclusion`` rows away (``causal``: at least ``exclusion`` rows *before* it); ``inf`` when there is
    none. Shape ``(ceil(N / every),)``."""
    windows = np.asarray(windows, np.float64)
    reference = np.asarray(reference, np.float64).reshape(-1, windows.shape[1])
    n, f = windows.shape
    sq = (windows**2).sum(axis=1)
    ref_sq = (reference**2).sum(axis=1)
    starts = np.arange(0, n, every)
    best = np.full(len(starts), np.inf)
    for lo in range(0, len(starts), CHUNK):
        at = starts[lo : lo + CHUNK]
        q, q_sq = windows[at], sq[at, None]
        if len(reference):
            best[lo : lo + len(at)] = (q_sq + ref_sq[None, :] - 2.0 * q @ reference.T).min(axis=1)
        hi = at[-1] - exclusion + 1 if causal else n  # a causal window only meets earlier ones
        if hi <= 0:
            continue
        d2 = q_sq + sq[None, :hi] - 2.0 * q @ windows[:hi].T
        gap = at[:, None] - np.arange(hi)[None, :]
        d2[(gap < exclusion) if causal else (np.abs(gap) < exclusion)] = np.inf
        best[lo : lo + len(at)] = np.minimum(best[lo : lo + len(at)], d2.min(axis=1))
    return np.sqrt(np.maximum(best, 0.0) / f)
