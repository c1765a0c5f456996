"""The fitted linear predictor: each column's changes predicted from its own last changes (wire version 7).

Noisy series around a slowly moving level (CPU load, traffic counts, temperatures read to a fine
resolution) are served badly by the fixed predictors: ``delta`` doubles the noise, ``center`` misses the
level. A short autoregression of the changes fitted at training does better: on three NAB CPU series the
estimated bytes of their lossless records fall by 3 to 5 % against the best fixed predictor. The same
integers work at any bound and on any grid, because the model is linear in the changes and has no
constant: a change of ``k`` steps predicts the same multiple of ``k`` on every grid.

Definition, per record and column ``c`` (``q`` the grid integers, rows in order, ``d[t] = q[t] - q[t-1]``
for ``t >= 1`` and ``d[0] = 0``, each change limited to ``+-CLIP``)::

    row 0:     prediction center[0, c]                                   (as ``delta``)
    row t >= 1 prediction q[t-1] + ((sum_j a[c, j] * d[t-1-j] + 2**(BITS-1)) >> BITS)

over ``j = 0 .. P-1`` with ``d`` of rows before 0 counted as 0; ``a`` are integers in units of
``2**-BITS``, ``|a| <= COEF_CAP``. Every product and the sum stay inside int64 (``2**40 * 2**17 * 64``), the
shift is an arithmetic one (floor), so any machine computes the same prediction. The decoder rebuilds a
record row by row, as the encoder's residuals were taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "BITS",
    "COEF_CAP",
    "MAX_ORDER",
    "coefficients",
    "fit_linear",
    "forward",
    "inverse",
    "predicted_change",
    "residuals_into",
]

#: the coefficients' fixed point: units of 2**-BITS
BITS = 14
#: |coefficient| cap, in those units (8x a change)
COEF_CAP = 1 << 17
#: changes fed to the prediction at most
MAX_ORDER = 16
#: |change| cap in the prediction
CLIP = 1 << 40
#: training records on which the fitted predictor must have the smallest residuals for it to be kept
MIN_WIN_SHARE = 0.05
#: and by how much, on those records, it must lower their mean |residual| (geometric mean of the ratios)
MIN_GAIN = 0.03
#: training values the fit reads at most
MAX_FIT_VALUES = 1 << 18


def _changes(x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Changes ``d`` (N, rows, cols) of ``x`` along rows (``d[:, 0] = 0``) and their lags (N, rows, cols,
    order): ``lags[:, t, :, j] = d[:, t-1-j]`` (0 before row 0)."""
    d = np.zeros_like(x)
    d[:, 1:] = x[:, 1:] - x[:, :-1]
    lags = np.zeros((*x.shape, order), x.dtype)
    for j in range(order):
        lags[:, 2 + j :, :, j] = d[:, 1 : x.shape[1] - 1 - j]
    return d, lags


def fit_linear(x: np.ndarray) -> tuple[dict[str, Any], list[float]] | None:
    """The statistic ``linear_predictor`` of finite training records ``x`` (N, rows, cols) float,
    ``{"bits": BITS, "coef": [[a_0 .. a_{P-1}] per column]}`` fitted by least squares on the changes, and
    its mean |residual| per column (its ``residual_scale``); None where it does not pay on the training
    records (:data:`MIN_WIN_SHARE`, :data:`MIN_GAIN`) or the records are too short. At most
    :data:`MAX_FIT_VALUES` values are used (records evenly spaced)."""
    n, rows, cols = x.shape
    order = min(MAX_ORDER, rows - 2)
    if order < 2 or n == 0:
        return None
    x = np.asarray(x[:: max(1, -(-n * rows * cols // MAX_FIT_VALUES))], np.float64)
    d, lags = _changes(x, order)
    coef = np.zeros((cols, order), np.int64)
    for c in range(cols):
        a = lags[:, 2:, c].reshape(-1, order)
        y = d[:, 2:, c].reshape(-1)
        scale = np.abs(y).mean()
        if not np.isfinite(scale) or scale == 0:
            continue
        w = np.linalg.lstsq(a / scale, y / scale, rcond=None)[0]
        if np.isfinite(w).all():
            coef[c] = np.clip(np.rint(w * (1 << BITS)), -COEF_CAP, COEF_CAP).astype(np.int64)
    scale = _pays(x, d, lags, coef)
    if scale is None:
        return None
    return {"bits": BITS, "coef": coef.tolist()}, scale


def _pays(x: np.ndarray, d: np.ndarray, lags: np.ndarray, coef: np.ndarray) -> list[float] | None:
    """The fitted predictor's mean |residual| per column where it has the smallest mean |residual| of all
    predictors on enough training records, by enough (the encoder picks a predictor per record, so a share
    of records is what counts); else None."""
    from compressor.bounded.predictors import PREDICTORS
    from compressor.bounded.predictors import forward as fixed_forward

    center = x.mean(axis=0)
    fixed = np.stack([np.abs(fixed_forward(name, x, center)).mean(axis=(1, 2)) for name in PREDICTORS])
    r = d - np.einsum("ntcj,cj->ntc", lags, coef.astype(np.float64) / (1 << BITS))
    r[:, 0] = x[:, 0] - center[0]
    own = np.abs(r).mean(axis=(1, 2))
    best = fixed.min(axis=0)
    wins = own < best
    if wins.mean() < MIN_WIN_SHARE:
        return None
    ratio = (own[wins] + 1e-12) / (best[wins] + 1e-12)
    if float(np.exp(np.log(ratio).mean())) > 1.0 - MIN_GAIN:
        return None
    return [float(v) for v in np.abs(r).mean(axis=(0, 1))]


def coefficients(spec: Any, cols: int) -> np.ndarray | None:
    """The coefficients (cols, P) int64 of a ``linear_predictor`` statistic, or None where it is absent or
    unusable (wrong shape, fixed point or range)."""
    if not isinstance(spec, Mapping) or spec.get("bits") != BITS:
        return None
    rows = spec.get("coef")
    if not isinstance(rows, list | tuple) or len(rows) != cols or not rows:
        return None
    order = len(rows[0]) if isinstance(rows[0], list | tuple) else 0
    if not 1 <= order <= MAX_ORDER:
        return None
    out = np.zeros((cols, order), np.int64)
    for c, row in enumerate(rows):
        if not isinstance(row, list | tuple) or len(row) != order:
            return None
        for j, v in enumerate(row):
            if not isinstance(v, int) or isinstance(v, bool) or abs(v) > COEF_CAP:
                return None
            out[c, j] = v
    return out


@njit(cache=True, inline="always")
def predicted_change(q, t, c, coef):
    """The rounded prediction of ``q[t, c] - q[t-1, c]`` (t >= 1) from the column's earlier changes."""
    acc = np.int64(0)
    for j in range(coef.shape[1]):
        s = t - 1 - j
        if s < 1:
            break
        v = q[s, c] - q[s - 1, c]
        v = min(max(v, -CLIP), CLIP)
        acc += coef[c, j] * v
    return (acc + (np.int64(1) << (BITS - 1))) >> BITS


@njit(cache=True)
def residuals_into(q, coef, center, r):
    """The residuals of :func:`forward` of ``q`` (N, rows, cols) int64 into ``r`` (compiled callers)."""
    n, rows, cols = q.shape
    for i in range(n):
        for c in range(cols):
            r[i, 0, c] = q[i, 0, c] - center[0, c]
            for t in range(1, rows):
                r[i, t, c] = q[i, t, c] - q[i, t - 1, c] - predicted_change(q[i], t, c, coef)


@njit(cache=True)
def _inverse(r, coef, center, q):
    n, rows, cols = r.shape
    for i in range(n):
        for c in range(cols):
            q[i, 0, c] = r[i, 0, c] + center[0, c]
            for t in range(1, rows):
                q[i, t, c] = r[i, t, c] + q[i, t - 1, c] + predicted_change(q[i], t, c, coef)


def forward(q: np.ndarray, coef: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Residuals (N, rows, cols) int64 of grid integers ``q`` under coefficients ``coef`` (cols, P) and the
    grid's ``center`` (rows, cols)."""
    q = np.ascontiguousarray(q, np.int64)
    r = np.empty_like(q)
    residuals_into(q, coef, np.ascontiguousarray(center, np.int64), r)
    return r


def inverse(r: np.ndarray, coef: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Grid integers from residuals: the exact inverse of :func:`forward`."""
    r = np.ascontiguousarray(r, np.int64)
    q = np.empty_like(r)
    _inverse(r, coef, np.ascontiguousarray(center, np.int64), q)
    return q
