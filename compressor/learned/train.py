"""Training the learned probability model on a bundle's training records.

The MLP (one hidden layer) predicts each value's difference from the previous value of its column from
the causal context, every column in units of its own scale, with an L1 loss weighted by the inverse of the
local residual scale (what a rate-minimizing predictor wants under a Laplace-like residual of that scale).
The residual tables are then fitted per scale class on the exact integer predictor the coder will run,
pooled over the grids of a few bounds.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np

from compressor.learned import kernel
from compressor.learned.model import LearnedModel, context_ratio, fit_table, frequencies

__all__ = ["HIDDEN", "class_residuals", "fit_context", "fit_model", "fit_season", "fit_tables", "table_index"]

log = logging.getLogger(__name__)

HIDDEN = 32
#: positions the MLP is fitted on at most (train time grows with it)
MAX_POSITIONS = 400_000
#: the least relative drop of the weighted mean |residual| a seasonal term must bring to be tried
MIN_SEASON_GAIN = 0.01


def _dimensionless(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column scale (mean |difference|, never 0) and ``x`` divided by it."""
    d = np.abs(np.diff(x, axis=1)).mean(axis=(0, 1))
    spread = x.std(axis=(0, 1))
    sigma = np.where(d > 0, d, np.where(spread > 0, spread, 1.0))
    return sigma, x / sigma


def fit_model(x: np.ndarray, epochs: int = 6, seed: int = 0, version: int = 3) -> LearnedModel:
    """Fit the MLP on finite records ``x`` (N, rows, cols) float64 (tables not yet fitted; from ``version``
    2 also the row-0 and cross-column terms, the context weights left at version 1's rule; version 3 is
    version 2's model with kind 8's streams, and becomes version 4 where a seasonal term
    (:func:`fit_season`) lowers the training residual)."""
    from compressor.backend import keras

    n, rows, cols = x.shape
    sigma, v = _dimensionless(x)
    rng = np.random.default_rng(seed)
    per_record = (rows - 1) * cols
    take = rng.permutation(n)[: max(1, -(-MAX_POSITIONS // per_record))]
    v = v[np.sort(take)]
    mean = x.mean(axis=(0, 1))
    spread = _spread(x)
    nf = kernel.N_DIFF if version < 2 else kernel.N_FEAT
    feats = kernel.features_all(v, mean / sigma)[:, 1:, :, :nf]  # (n', rows-1, cols, nf)
    if version >= 2:  # levels in units of their column's spread, not of its typical step
        for c in range(cols):
            for i in range(kernel.N_DIFF, nf):
                src = c + kernel.FEATURE_COLUMN[i]
                if 0 <= src < cols:
                    feats[:, :, c, i] *= sigma[src] / spread[src]
    delta = np.diff(v, axis=1)  # target, in units of the column's sigma
    a = np.abs(delta)
    pad = np.concatenate([np.full((len(v), kernel.CTX, cols), a.mean()), a], axis=1)
    cs = np.concatenate([np.zeros((len(v), 1, cols)), np.cumsum(pad, axis=1)], axis=1)
    # the context scale of each target: mean |difference| over the column's CTX previous ones
    scale = (cs[:, kernel.CTX : kernel.CTX + rows - 1] - cs[:, : rows - 1]) / kernel.CTX
    onehot = np.zeros((*feats.shape[:3], min(cols, 16)), np.float64)
    for c in range(cols):
        onehot[:, :, c, min(c, 15)] = 1.0
    width = nf + min(cols, 16)
    inputs = np.concatenate([np.clip(feats, -1e4, 1e4), onehot], axis=-1).reshape(-1, width)
    target = delta.reshape(-1)
    weight = 1.0 / (scale.reshape(-1) + 0.05)
    idx = rng.permutation(len(target))[:MAX_POSITIONS]
    keras.utils.set_random_seed(seed)
    inp = keras.Input((inputs.shape[1],))
    hidden = keras.layers.Dense(HIDDEN, activation="relu")(inp)
    out = keras.layers.Dense(1)(hidden)
    net = keras.Model(inp, out)
    net.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mae")
    net.fit(
        inputs[idx].astype(np.float32),
        target[idx].astype(np.float32),
        sample_weight=weight[idx].astype(np.float32),
        epochs=epochs,
        batch_size=512,
        verbose=0,
    )
    (w1, b1), (w2, b2) = net.layers[1].get_weights(), net.layers[2].get_weights()
    pred = np.maximum(inputs @ w1 + b1, 0) @ w2[:, 0] + b2[0]
    if version >= 2:
        cross = _fit_cross(delta, (target - pred).reshape(delta.shape), weight.reshape(delta.shape))
        pred = pred + _cross_term(delta, cross).reshape(-1)
        cross *= sigma[:, None] / np.stack([_earlier(sigma, c) for c in range(cols)])
    period, season = 0, None
    if version >= 3:
        period, season = fit_season(delta, (target - pred).reshape(delta.shape), weight.reshape(delta.shape))
        if period:
            pred = pred + _season_term(_season_inputs(delta, period), season).reshape(-1)
            version = 4
    resid = np.abs(target - pred).reshape(-1, cols).mean(axis=0) * sigma
    extra = {}
    if version < 2:
        first = np.abs(x[:, 0, :] - mean).mean(axis=0)
    else:
        first_mean, first_slope, first = _fit_first_row(x[:, 0, :])
        context = np.zeros((1 + cols, kernel.N_CONTEXT))
        context[0, 0], context[1:, 1] = 1.0, 4.0  # version 1's rule until fit_context
        extra = {
            "version": version,
            "first_mean": first_mean,
            "spread": spread,
            "first_slope": first_slope,
            "cross": cross,
            "context": context,
            "limits": np.stack([x.min(axis=(0, 1)), x.max(axis=(0, 1))]),
            "period": period,
            "season": season,
        }
    return LearnedModel(
        w1=w1.astype(np.float32),
        b1=b1.astype(np.float32),
        w2=w2[:, 0].astype(np.float32),
        b2=float(b2[0]),
        sigma=sigma,
        mean=mean,
        first_dev=first,
        residual=resid,
        tables=[],  # fit_tables fits them (their number depends on the limits)
        **extra,
    )


def _spread(x: np.ndarray) -> np.ndarray:
    """Per column standard deviation (never 0): the unit of the level features."""
    spread = x.std(axis=(0, 1))
    return np.where(spread > 0, spread, 1.0)


def _earlier(a: np.ndarray, c: int) -> np.ndarray:
    """(XC,) ``a`` of columns ``c-1, c-2, ...`` (1 beyond the first column)."""
    out = np.ones(kernel.XC)
    idx = np.arange(c - 1, max(c - 1 - kernel.XC, -1), -1)
    out[: len(idx)] = a[idx]
    return out


def _cross_inputs(delta: np.ndarray, c: int) -> np.ndarray:
    """(N, rows-1, XC) current-row changes of the columns before ``c`` (0 where there is none)."""
    out = np.zeros((*delta.shape[:2], kernel.XC))
    idx = np.arange(c - 1, max(c - 1 - kernel.XC, -1), -1)
    out[..., : len(idx)] = delta[..., idx]
    return out


def _cross_term(delta: np.ndarray, cross: np.ndarray) -> np.ndarray:
    return np.stack([_cross_inputs(delta, c) @ cross[c] for c in range(delta.shape[2])], axis=-1)


def _fit_cross(delta: np.ndarray, residual: np.ndarray, weight: np.ndarray, rounds: int = 4) -> np.ndarray:
    """(cols, XC) linear weights of the earlier columns' current-row changes on the MLP's residual (all
    dimensionless), an L1 fit by reweighted least squares with a small ridge."""
    cols = delta.shape[2]
    cross = np.zeros((cols, kernel.XC))
    for c in range(1, cols):
        a = _cross_inputs(delta, c).reshape(-1, kernel.XC)
        cross[c] = _irls(a, residual[..., c].reshape(-1), weight[..., c].reshape(-1), rounds)
    return cross


def _season_inputs(delta: np.ndarray, period: int) -> np.ndarray:
    """(N, rows-1, cols, SEASON) the changes into rows ``t - period + 1 - j`` of each target's column, for the
    target at row ``t`` (``delta[:, t-1]``); 0 where the kernel adds no seasonal term (``t < period +
    SEASON - 1``)."""
    n, steps, cols = delta.shape
    out = np.zeros((n, steps, cols, kernel.SEASON))
    first = period + kernel.SEASON - 2  # delta index of the first target with a seasonal term
    for j in range(kernel.SEASON):
        src = first - period + 1 - j  # delta index of the change into row t - period + 1 - j at that target
        if first < steps:
            out[:, first:, :, j] = delta[:, src : src + steps - first]
    return out


def _season_term(inputs: np.ndarray, season: np.ndarray) -> np.ndarray:
    """(N, rows-1, cols) the seasonal term of weights ``season`` (cols, SEASON) on :func:`_season_inputs`."""
    return np.einsum("ntcj,cj->ntc", inputs, season)


def fit_season(
    delta: np.ndarray,
    residual: np.ndarray,
    weight: np.ndarray,
    candidates: int = 3,
    min_gain: float = MIN_SEASON_GAIN,
) -> tuple[int, np.ndarray | None]:
    """``(period, season)``: the seasonal term of a version-4 model over the dimensionless changes ``delta``
    (N, rows-1, cols) and the residual ``residual`` of the prediction without it (weights ``weight``), or
    ``(0, None)``. The periods tried are the ``candidates`` lags (from ``K_HIST`` to half the record) whose
    changes correlate most with the changes one lag earlier, averaged over the columns; the one kept lowers
    the weighted mean |residual| the most, by at least ``min_gain``."""
    n, steps, cols = delta.shape
    longest = steps // 2
    if longest < kernel.K_HIST:
        return 0, None
    lags = np.arange(kernel.K_HIST, longest + 1)
    corr = _autocorrelation(delta)[lags]
    before = float((np.abs(residual) * weight).sum())
    best: tuple[float, int, np.ndarray] | None = None
    for lag in lags[np.argsort(-corr)[:candidates]]:
        a = _season_inputs(delta, int(lag))
        season = np.zeros((cols, kernel.SEASON))
        for c in range(cols):
            season[c] = _irls(
                a[:, :, c].reshape(-1, kernel.SEASON),
                residual[..., c].reshape(-1),
                weight[..., c].reshape(-1),
            )
        after = float((np.abs(residual - _season_term(a, season)) * weight).sum())
        if best is None or after < best[0]:
            best = (after, int(lag), season)
    if best is None or best[0] > (1.0 - min_gain) * before:
        return 0, None
    log.info(
        "seasonal term: period %d rows, training residual %.1f%% lower", best[1], 100 * (1 - best[0] / before)
    )
    return best[1], best[2]


def _autocorrelation(delta: np.ndarray) -> np.ndarray:
    """(rows-1,) the correlation of the changes ``delta`` (N, rows-1, cols) with the changes ``lag`` rows
    earlier in the same record, for every lag, averaged over the columns (each column's changes less their
    mean; by FFT, so records of any length cost ``rows log rows``)."""
    n, steps, cols = delta.shape
    centred = delta - delta.mean(axis=(0, 1))
    size = 1 << int(2 * steps - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    lagged = np.fft.irfft(np.abs(spectrum) ** 2, n=size, axis=1)[:, :steps].sum(axis=0)  # (steps, cols)
    power = lagged[0]
    return (lagged / np.where(power > 0, power, 1.0)).mean(axis=1)


def _irls(a: np.ndarray, y: np.ndarray, weight: np.ndarray, rounds: int = 4, clip: float = 4.0) -> np.ndarray:
    """Linear weights of the columns of ``a`` on ``y``: an L1 fit (weights ``weight``) by reweighted least
    squares with a small ridge, each limited to ``+-clip``."""
    coef = np.zeros(a.shape[1])
    w = weight
    for _ in range(rounds):
        aw = a * w[:, None]
        coef = np.linalg.solve(aw.T @ a + 1e-3 * len(y) * np.eye(a.shape[1]), aw.T @ y)
        w = weight / np.maximum(np.abs(y - a @ coef), 0.05)
    return np.clip(coef, -clip, clip)


def _fit_first_row(first: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row 0's mean per column, the slope of each column's deviation on the previous column's (data units)
    and the mean |residual| of that prediction."""
    mean = first.mean(axis=0)
    dev = first - mean
    slope = np.zeros(first.shape[1])
    for c in range(1, first.shape[1]):
        var = float(dev[:, c - 1] @ dev[:, c - 1])
        slope[c] = np.clip(float(dev[:, c - 1] @ dev[:, c]) / var, -4.0, 4.0) if var > 0 else 0.0
    resid = dev.copy()
    resid[:, 1:] -= slope[1:] * dev[:, :-1]
    return mean, slope, np.abs(resid).mean(axis=0)


def fit_context(model: LearnedModel, grids: Sequence[tuple[np.ndarray, np.ndarray]], seed: int = 0) -> None:
    """Fit ``model``'s scale-context weights (version 2), in place, on ``grids`` (as :func:`fit_tables`):
    ``32 |r|`` on the context magnitudes (:func:`_relative_fit`), row 0 pooled over the columns, later
    rows per column."""
    rng = np.random.default_rng(seed)
    cols = model.cols
    parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(1 + cols)]
    thresholds = model.classes[0]
    per_column = max(MAX_POSITIONS // cols, 20_000)
    for q, steps in grids:
        p = model.params(steps)
        r, _, feats = kernel.residuals(q, p.predictor_args(), thresholds)
        f = feats.astype(np.float64) * context_ratio(steps)  # each magnitude in the coded column's units
        f[:, 0, :, 0] = (p.context[0, :, 0] >> kernel.CW_BITS).astype(np.float64)  # row 0's bias unit
        y = 32.0 * np.abs(r).astype(np.float64)
        take = rng.permutation(q.shape[0] * cols)[:MAX_POSITIONS]
        parts[0].append((f[:, 0].reshape(-1, kernel.N_CONTEXT)[take], y[:, 0].reshape(-1)[take]))
        for c in range(cols):
            take = rng.permutation(q.shape[0] * (q.shape[1] - 1))[:per_column]
            fc, yc = f[:, 1:, c].reshape(-1, kernel.N_CONTEXT), y[:, 1:, c].reshape(-1)
            parts[1 + c].append((fc[take], yc[take]))
    context = np.zeros((1 + cols, kernel.N_CONTEXT))
    for i, part in enumerate(parts):
        context[i] = _relative_fit(np.concatenate([a for a, _ in part]), np.concatenate([y for _, y in part]))
    context[0, 0] = max(context[0, 0], 1e-3)
    model.context = context
    model._params.clear()


def _relative_fit(a: np.ndarray, y: np.ndarray, rounds: int = 6) -> np.ndarray:
    """Non-negative ``w`` with ``a @ w`` close to ``y`` in relative terms: least squares reweighted by
    ``1 / (a @ w + 1)`` (a quiet context must come out quiet, a busy one only roughly right: the class
    is a logarithm of the expected magnitude)."""
    from scipy.optimize import nnls

    scale = np.maximum(np.abs(a).mean(axis=0), 1e-9)
    a = a / scale
    weight = np.ones(len(y))
    coef = np.zeros(a.shape[1])
    for _ in range(rounds):
        root = np.sqrt(weight)[:, None]
        coef, _ = nnls(a * root, y * root[:, 0])
        weight = 1.0 / (a @ coef + 1.0)
    return coef / scale


#: values a sign context's or level's table needs at training to be stored (else its class's table)
MIN_SPLIT_COUNT = 64
#: weight (in values) of the class's table as the prior of a sign context's or level's table
SPLIT_PRIOR = 16.0


def class_residuals(model: LearnedModel, grids: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[tuple]:
    """Per grid of ``grids`` (as :func:`fit_tables`), ``(r, k, pred, low, high)``: the residuals, scale
    classes and predictions (N, rows, cols) of ``model``'s predictor before any sign context or level, and
    the limits (cols,) on that grid (what :func:`fit_tables` counts, for any ``signs`` and ``levels``)."""
    plain = dataclasses.replace(model, signs=1, levels=1, table_map=None)
    out = []
    for q, steps in grids:
        p = plain.params(steps)
        r, k, _ = kernel.residuals(q, p.predictor_args(), plain.classes[0])
        out.append((r, k, q - r, p.low, p.high))
    return out


def table_index(  # noqa: PLR0913
    k: np.ndarray,
    r: np.ndarray,
    signs: int,
    levels: int = 1,
    pred: np.ndarray | None = None,
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> np.ndarray:
    """The table of each value (N, rows, cols) from its scale class ``k``, the residuals ``r`` of its
    record and (with ``levels``) its prediction and the limits (cols,): the definition of
    ``kernel._table``, over whole records at once."""
    out = k
    if signs > 1:
        e = np.ones_like(r)
        e[:, 1:] = np.sign(r[:, :-1]) + 1
        if signs == 9:
            left = np.ones_like(r)
            left[:, :, 1:] = np.sign(r[:, :, :-1]) + 1
            e = 3 * e + left
        out = k * signs + e
    if levels > 1:
        v = (pred - low) * levels // (high - low + 1)
        out = out * levels + np.clip(v, 0, levels - 1)
    return out


def fit_tables(
    model: LearnedModel, grids: Sequence[tuple[np.ndarray, np.ndarray]], coded: Sequence[tuple] | None = None
) -> None:
    """Fit ``model``'s tables (and, with sign contexts or levels, its table map), in place, pooled over ``grids``: pairs of
    grid integers (N, rows, cols) int64 and their steps (cols,). ``coded``: their :func:`class_residuals`,
    when already computed."""
    shifts, means, sides = model.table_layout
    counts = np.zeros((len(means), kernel.NSYM), np.int64)
    for r, k, pred, low, high in coded if coded is not None else class_residuals(model, grids):
        t = table_index(k, r, model.signs, model.levels, pred, low, high)
        s = r >> shifts[t]
        sym = np.where(np.abs(s) <= kernel.R, s + kernel.R, kernel.ESC)
        counts += np.bincount((t * kernel.NSYM + sym).ravel(), minlength=counts.size).reshape(counts.shape)
    split = model.signs * model.levels
    if split == 1:
        model.tables = [fit_table(c, m, int(side)) for c, m, side in zip(counts, means, sides, strict=True)]
        model.table_map = None
    else:  # a class's table over all its splits first, then a split's own where training saw it often
        pooled = counts.reshape(-1, split, kernel.NSYM).sum(axis=1)
        model.tables = [
            fit_table(pooled[b], means[b * split], int(sides[b * split])) for b in range(len(pooled))
        ]
        tmap = np.arange(len(means), dtype=np.int64) // split
        for t in np.flatnonzero(counts.sum(axis=1) >= MIN_SPLIT_COUNT):
            base = frequencies(model.tables[t // split]).astype(np.float64)
            tmap[t] = len(model.tables)
            model.tables.append(fit_table(counts[t], means[t], int(sides[t]), SPLIT_PRIOR, base / base.sum()))
        model.table_map = tmap
    model._freq = None
    model._stored = None
    model._params.clear()
