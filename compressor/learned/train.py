"""Training the learned probability model on a bundle's training records.

The MLP (one hidden layer) predicts each value's difference from the previous value of its column from
the causal context, every column in units of its own scale, with an L1 loss weighted by the inverse of the
local residual scale (what a rate-minimizing predictor wants under a Laplace-like residual of that scale).
The residual tables are then fitted per scale class on the exact integer predictor the coder will run,
pooled over the grids of a few bounds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from compressor.learned import kernel
from compressor.learned.model import LearnedModel, classes_of, fit_table

__all__ = ["HIDDEN", "fit_model", "fit_tables"]

log = logging.getLogger(__name__)

HIDDEN = 32
#: positions the MLP is fitted on at most (train time grows with it)
MAX_POSITIONS = 150_000


def _dimensionless(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column scale (mean |difference|, never 0) and ``x`` divided by it."""
    d = np.abs(np.diff(x, axis=1)).mean(axis=(0, 1))
    spread = x.std(axis=(0, 1))
    sigma = np.where(d > 0, d, np.where(spread > 0, spread, 1.0))
    return sigma, x / sigma


def fit_model(x: np.ndarray, epochs: int = 6, seed: int = 0) -> LearnedModel:
    """Fit the MLP on finite records ``x`` (N, rows, cols) float64 (tables not yet fitted)."""
    from compressor.backend import keras

    n, rows, cols = x.shape
    sigma, v = _dimensionless(x)
    rng = np.random.default_rng(seed)
    per_record = (rows - 1) * cols
    take = rng.permutation(n)[: max(1, -(-MAX_POSITIONS // per_record))]
    v = v[np.sort(take)]
    feats = kernel.features_all(v)[:, 1:]  # (n', rows-1, cols, N_DIFF)
    delta = np.diff(v, axis=1)  # target, in units of the column's sigma
    a = np.abs(delta)
    pad = np.concatenate([np.full((len(v), kernel.CTX, cols), a.mean()), a], axis=1)
    cs = np.concatenate([np.zeros((len(v), 1, cols)), np.cumsum(pad, axis=1)], axis=1)
    # the context scale of each target: mean |difference| over the column's CTX previous ones
    scale = (cs[:, kernel.CTX : kernel.CTX + rows - 1] - cs[:, : rows - 1]) / kernel.CTX
    onehot = np.zeros((*feats.shape[:3], min(cols, 16)), np.float64)
    for c in range(cols):
        onehot[:, :, c, min(c, 15)] = 1.0
    width = kernel.N_DIFF + min(cols, 16)
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
    resid = np.abs(target - pred).reshape(-1, cols).mean(axis=0) * sigma
    first = np.abs(x[:, 0, :] - x.mean(axis=(0, 1))).mean(axis=0)
    return LearnedModel(
        w1=w1.astype(np.float32),
        b1=b1.astype(np.float32),
        w2=w2[:, 0].astype(np.float32),
        b2=float(b2[0]),
        sigma=sigma,
        mean=x.mean(axis=(0, 1)),
        first_dev=first,
        residual=resid,
        tables=[fit_table(np.zeros(kernel.NSYM), m) for m in classes_of(1)[2]],
    )


def fit_tables(model: LearnedModel, grids: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    """Fit ``model``'s class tables, in place, pooled over ``grids``: pairs of grid integers (N, rows, cols)
    int64 and their steps (cols,)."""
    thresholds, shifts, means = model.classes
    counts = np.zeros((len(means), kernel.NSYM), np.int64)
    for q, steps in grids:
        p = model.params(steps)
        r, k, _ = kernel.residuals(q, p.predictor_args(), thresholds)
        s = r >> shifts[k]
        sym = np.where(np.abs(s) <= kernel.R, s + kernel.R, kernel.ESC)
        np.add.at(counts, (k.ravel(), sym.ravel()), 1)
    model.tables = [fit_table(counts[k], m) for k, m in enumerate(means)]
    model._freq = None
    model._params.clear()
