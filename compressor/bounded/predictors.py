"""Integer predictors of grid values, each an exact linear map with an exact inverse (cumulative sums).

A record is a grid of ``rows x cols`` integers (time x channels for series, height x width for images);
``center`` is a per-position integer (the training mean on the grid). Residuals are computed for a whole
batch ``(N, rows, cols)`` at once, and rebuilt the same way with integer cumulative sums: bit-exact on any
machine, whatever the thread count.

============  =========================================================================================
name          residual
============  =========================================================================================
``delta``     ``q[i] - q[i-1]`` along rows (previous value, Lorenzo 1-D); row 0 against the center
``center``    ``q - center`` (noise around a level: no differencing, so no doubled variance)
``delta2``    ``q[i] - 2 q[i-1] + q[i-2]`` (linear extrapolation for smooth signals)
``plane``     ``q - up - left + upleft`` (Lorenzo 2-D: images, or correlated channels)
============  =========================================================================================
"""

from __future__ import annotations

import numpy as np

__all__ = ["PREDICTORS", "forward", "inverse", "record_layout"]

PREDICTORS = ("delta", "center", "delta2", "plane")


def record_layout(
    record_size: int, window: int, channels: int, shape: tuple[int, ...] = ()
) -> tuple[int, int]:
    """``(rows, cols)`` of a record: an image's height and width, else window x channels, else D x 1."""
    if len(shape) == 2 and shape[0] * shape[1] == record_size and window == 1:
        return int(shape[0]), int(shape[1])
    if window * channels == record_size and window > 1:
        return int(window), int(channels)
    return int(record_size), 1


def _diff_rows(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out[:, 1:] -= a[:, :-1]
    return out


def _diff_cols(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out[:, :, 1:] -= a[:, :, :-1]
    return out


def forward(name: str, q: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Residuals (int64, same shape) of grid values ``q`` of shape (N, rows, cols)."""
    if name == "center":
        return q - center
    if name == "delta":
        d = _diff_rows(q)
        d[:, 0] -= center[0]
        return d
    if name == "delta2":
        u = _diff_rows(q)
        u[:, 0] -= center[0]
        r = u.copy()
        r[:, 2:] -= u[:, 1:-1]
        return r
    if name == "plane":
        return _diff_cols(_diff_rows(q - center[0, 0]))
    raise ValueError(f"unknown predictor {name!r}")


def inverse(name: str, r: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Grid values from residuals: the exact inverse of :func:`forward`."""
    if name == "center":
        return r + center
    if name == "delta":
        q = np.cumsum(r, axis=1)
        q += center[0]
        return q
    if name == "delta2":
        u = r.copy()
        u[:, 1:] = np.cumsum(r[:, 1:], axis=1)
        q = np.cumsum(u, axis=1)
        q += center[0]
        return q
    if name == "plane":
        q = np.cumsum(np.cumsum(r, axis=1), axis=2)
        q += center[0, 0]
        return q
    raise ValueError(f"unknown predictor {name!r}")
