"""Where in a series an anomaly is: reconstruction error per point from sliding windows.

A series of ``(T, C)`` rows is cut into windows of the bundle's ``window`` rows every ``stride`` rows; each
window is reconstructed (unquantized latents) and every point gets the mean, over the windows covering it,
of its squared reconstruction error in normalized units (averaged over channels). A short anomaly thus
stands out at its own points rather than spreading over whole records. :func:`causal_scores` instead gives
each point the error of the window *ending* at it, which uses no later data (what a stream can compute).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compressor.bundle import Bundle
from compressor.windows import sliding

__all__ = ["PointScores", "causal_scores", "default_stride", "point_scores"]

#: windows reconstructed at once (bounds memory on long series)
CHUNK = 4096


def default_stride(window: int) -> int:
    """Rows between windows when not given: a sixteenth of the window (at least 1)."""
    return max(1, window // 16)


@dataclass(frozen=True)
class PointScores:
    """Per-point anomaly scores of a series.

    Arguments:
        scores (np.ndarray): ``(T,)`` score of each row (``inf`` next to NaN/Inf, ``nan`` where no window
            reaches).
        window_starts (np.ndarray): first row of each window scored.
        window_scores (np.ndarray): mean squared error of each window.
        stride (int): rows between windows.
    """

    scores: np.ndarray
    window_starts: np.ndarray
    window_scores: np.ndarray
    stride: int


def _window_errors(bundle: Bundle, windows: np.ndarray) -> np.ndarray:
    """(N, W) squared error of each row of each window, mean over channels; inf for non-finite windows."""
    w, c = bundle.window, bundle.normalizer.channels
    out = np.full((len(windows), w), np.inf)
    finite = np.isfinite(windows).all(axis=1)
    idx = np.nonzero(finite)[0]
    for i in range(0, len(idx), CHUNK):
        part = idx[i : i + CHUNK]
        x = bundle.normalizer.forward(windows[part])
        rec = bundle.predictor("decoder")(bundle.predictor("encoder")(x))
        out[part] = ((rec.astype(np.float64) - x) ** 2).reshape(len(part), w, c).mean(axis=2)
    return out


def _starts(n_rows: int, window: int, stride: int) -> np.ndarray:
    starts = np.arange(0, n_rows - window + 1, stride)
    if len(starts) and starts[-1] != n_rows - window:
        starts = np.append(starts, n_rows - window)  # the last rows are covered too
    return starts


def point_scores(bundle: Bundle, rows: np.ndarray, stride: int | None = None) -> PointScores:
    """Scores of every row of ``rows`` (T, C) from windows every ``stride`` rows (see module doc)."""
    rows = np.asarray(rows, np.float32)
    window = bundle.window
    stride = stride or default_stride(window)
    starts = _starts(len(rows), window, stride)
    total, count = np.zeros(len(rows)), np.zeros(len(rows))
    window_scores = np.zeros(len(starts))
    for i in range(0, len(starts), CHUNK):
        part = starts[i : i + CHUNK]
        errors = _window_errors(bundle, rows[part[:, None] + np.arange(window)].reshape(len(part), -1))
        window_scores[i : i + len(part)] = errors.mean(axis=1)
        for offset in range(window):
            np.add.at(total, part + offset, errors[:, offset])
            np.add.at(count, part + offset, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return PointScores(scores, starts, window_scores, int(stride))


def causal_scores(bundle: Bundle, rows: np.ndarray) -> np.ndarray:
    """Score of each row ``t`` (T,): mean squared error of the window ending at ``t`` (``nan`` for the
    first ``window - 1`` rows)."""
    rows = np.asarray(rows, np.float32)
    out = np.full(len(rows), np.nan)
    windows = sliding(rows, bundle.window, 1)
    if len(windows):
        out[bundle.window - 1 :] = _window_errors(bundle, windows).mean(axis=1)
    return out
