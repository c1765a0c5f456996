"""The compiled inner loops of the learned codec: an integer MLP predictor and a rANS coder, fused.

Why compiled code and not ``constriction``: the distribution of every value depends on the value decoded
just before it (its prediction reads the record's last values in every channel, its scale class the last
residuals), so a decoder must alternate "predict, decode one symbol" once per value. Through a Python
coder that is one or more Python calls per value (tens of microseconds: well under 1 MB/s); here the whole
loop runs in one compiled call per batch, and the coder is a plain 32-bit rANS (16-bit words, frequencies
over 2**16), written out below so that encoder and decoder share one definition.

Exactness: everything is integer arithmetic. Features are int32 differences of grid integers (clipped to
``+-CLIP``), weights int32 fixed point, accumulators int64, ReLU and rounding by arithmetic shifts. The
bounds below keep every sum inside int64, so any machine, compiler or vector width computes the same
prediction, and the decoder rebuilds the encoder's integers bit for bit.

Per value at row ``t``, column ``c`` of a record (rows are decoded in order, columns in order within a row):

* row 0: prediction ``center[c]`` (version 2: plus ``first_slope[c]`` times the deviation of the value to
  its left);
* later rows: prediction ``q[t-1, c] + mlp(features)`` (version 2: plus the ``cross`` term over the
  earlier columns' current-row changes; version 4: plus the ``season`` term over the column's changes one
  ``period`` back);
* the prediction limited to ``[low[c], high[c]]`` (version 1: unlimited);
* scale class from the context magnitudes weighed by ``cw`` (version 1's weights reduce it to row 0's
  ``first_class`` and ``4 * sum |r|`` of the column's last ``CTX`` residuals, ``default[c]`` standing in for
  residuals before the record), offset by one or two class counts at the low or high limit;
* version 3: the class's table split by the signs of the residuals one row up and to the left and by
  where the prediction sits between the limits (:func:`_table`), then mapped to a stored table;
* residual ``r = q - prediction`` coded as ``r >> shift[k]`` in the class's table (an escape symbol for
  ``|r >> shift| > R``, then ``r`` as 48 raw bits), followed by the ``shift[k]`` low bits, uniform.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from compressor.learned.mlp import mlp_rows

__all__ = [
    "CLIP",
    "CTX",
    "ESC",
    "K_HIST",
    "M_BITS",
    "NSYM",
    "FEATURE_COLUMN",
    "N_DIFF",
    "N_FEAT",
    "N_LEVEL",
    "R",
    "SEASON",
    "coded",
    "decode_batch",
    "encode_batch",
    "features_all",
    "mlp_batch",
    "predictions",
    "residuals",
]

K_HIST = 8  # values of the own column in the context
CTX = 8  # residuals in the scale context
R = 255  # table symbols -R..R, then the escape
ESC = 2 * R + 1
NSYM = 2 * R + 2
M_BITS = 16
M = 1 << M_BITS
L = 1 << 16  # rANS state lower bound; state in [L, L << 16)
CLIP = 1 << 20  # |feature| cap: |x| * |w| * F stays far inside int64
N_DIFF = (K_HIST - 1) + 3 + 2  # difference features (all a version-1 model reads)
N_LEVEL = 4  # level features after them (version 2): left, above, above-left, above-right
N_FEAT = N_DIFF + N_LEVEL  # features before the column one-hot
H_CAP = 1 << 26  # hidden activations capped (after the shift): |h * w2| * H inside int64
Q_CAP = 1 << 42  # |prediction| cap
XC = 16  # earlier columns whose current-row change the prediction adds linearly
SEASON = 3  # changes of the own column one period back the prediction adds linearly (version 4)
N_CONTEXT = 10  # context magnitudes of the scale class (CONTEXT_FEATURES)
MAG_CAP = 1 << 30  # |residual| and |change| cap in the scale context
CW_BITS = 12  # scale-context weights in units of 2**-CW_BITS
CW_CAP = 1 << 24  # |scale-context weight| cap: the weighed sum stays far inside int64


@njit(cache=True, inline="always")
def _clamp(v: np.int64, cap: int) -> np.int64:
    """``v`` limited to ``[-cap, cap]``."""
    if v > cap:
        return np.int64(cap)
    if v < -cap:
        return np.int64(-cap)
    return v


@njit(cache=True, inline="always")
def _features(q, t, c, cols, level, x, p):
    """The features the MLP reads at (t, c), t >= 1, into row ``p`` of ``x`` (.., N_FEAT): N_DIFF
    differences of two values of one column, then N_LEVEL values less their column's ``level``; each
    scales with the grid step of one column alone."""
    prev = q[t - 1, c]
    if t >= K_HIST:
        for j in range(2, K_HIST + 1):
            x[p, j - 2] = q[t - j, c] - prev
    else:
        for j in range(2, K_HIST + 1):
            x[p, j - 2] = q[max(t - j, 0), c] - prev
    t2 = max(t - 2, 0)
    t3 = max(t - 3, 0)
    if c > 0:
        x[p, 7] = q[t, c - 1] - q[t - 1, c - 1]
        x[p, 8] = q[t - 1, c - 1] - q[t2, c - 1]
        x[p, 9] = q[t2, c - 1] - q[t3, c - 1]
    else:
        x[p, 7] = 0
        x[p, 8] = 0
        x[p, 9] = 0
    if c + 1 < cols:
        x[p, 10] = q[t - 1, c + 1] - q[t2, c + 1]
        x[p, 11] = q[t2, c + 1] - q[t3, c + 1]
        x[p, 15] = q[t - 1, c + 1] - level[c + 1]
    else:
        x[p, 10] = 0
        x[p, 11] = 0
        x[p, 15] = 0
    x[p, 13] = prev - level[c]
    if c > 0:
        x[p, 12] = q[t, c - 1] - level[c - 1]
        x[p, 14] = q[t - 1, c - 1] - level[c - 1]
    else:
        x[p, 12] = 0
        x[p, 14] = 0


#: the column each difference feature is taken from, relative to the predicted one
FEATURE_COLUMN = (0, 0, 0, 0, 0, 0, 0, -1, -1, -1, 1, 1, -1, 0, -1, 1)


@njit(cache=True)
def features_all(v, level):
    """Features (N, rows, cols, N_FEAT) of every position t >= 1 (row 0 left zero) of values ``v``
    (N, rows, cols) with column levels ``level`` (cols,): what training fits the MLP on, from the
    definition the coder uses."""
    n, rows, cols = v.shape
    out = np.zeros((n, rows, cols, N_FEAT), v.dtype)
    for i in range(n):
        for t in range(1, rows):
            for c in range(cols):
                _features(v[i], t, c, cols, level, out[i, t], c)
    return out


@njit(cache=True, inline="always")
def _clamped_features(q, t, c, cols, level, x, p):
    """:func:`_features` at (t, c) into row ``p`` of ``x``, each limited to ``+-CLIP``: what the MLP reads."""
    _features(q, t, c, cols, level, x, p)
    for i in range(N_FEAT):
        x[p, i] = _clamp(x[p, i], CLIP)


@njit(cache=True, inline="always")
def _mlp_of(model):
    """The MLP's arrays of ``model`` (the argument tuple of :func:`~compressor.learned.mlp.mlp_rows`)."""
    return (model[0], model[1], model[2], model[3], model[4], model[13], model[14], model[15])


@njit(cache=True, inline="always")
def _predict(q, t, c, y, cross, season, period, low, high):  # noqa: PLR0913
    """The prediction of (t, c), t >= 1, of one record ``q`` (rows, cols) from the MLP's output ``y`` at
    that position (:func:`~compressor.learned.mlp.mlp_rows`: column ``c``'s weights ``w1[c]`` (N_FEAT, H) in
    units of ``2**-(hshift[c] + 8)``, ``w2[c]`` (H,) in units of ``2**-12``, ``y`` in units of ``2**-20``):
    ``q[t-1, c] + round(y + cross term + seasonal term)``, limited to ``[low[c], high[c]]``."""
    y += _cross(q, t, c, cross)
    if period > 0 and t >= period + SEASON - 1:
        y += _season(q, t, c, season, period)
    d = (y + (np.int64(1) << 19)) >> 20  # units 2**-20 -> 1, rounded half up
    return min(max(_clamp(q[t - 1, c] + d, Q_CAP), low[c]), high[c])


@njit(cache=True, inline="always")
def _rank(v, ascending):
    """The number of entries of ``ascending`` (sorted) that are <= ``v``: a binary search whose steps
    compile to conditional moves, not branches. A scale class from its thresholds, and a symbol from a
    table's cumulative frequencies (one less: no lookup table of 2**16 entries per class, whose random
    reads miss the caches)."""
    n = ascending.shape[0]
    if n == 0:
        return 0
    base = 0
    while n > 1:
        half = n >> 1
        base = base + half if ascending[base + half] <= v else base
        n -= half
    return base + (1 if ascending[base] <= v else 0)


@njit(cache=True, inline="always")
def _cross(q, t, c, cross):
    """``sum_j cross[c, j] * (q[t, c-1-j] - q[t-1, c-1-j])`` over the (at most XC) earlier columns, in
    units of ``2**-20``: the current-row changes of the columns decoded before ``c``."""
    y = np.int64(0)
    for j in range(min(c, XC)):
        w = cross[c, j]
        if w != 0:
            y += w * _clamp(q[t, c - 1 - j] - q[t - 1, c - 1 - j], CLIP)
    return y


@njit(cache=True, inline="always")
def _season(q, t, c, season, period):
    """``sum_j season[c, j] * (q[t-period+1-j, c] - q[t-period-j, c])`` over ``j < SEASON``, in units of
    ``2**-20``: the column's changes around the same place one period back (version 4; ``t >= period +
    SEASON - 1`` and ``period >= 2``, so every value it reads is decoded)."""
    y = np.int64(0)
    for j in range(SEASON):
        w = season[c, j]
        if w != 0:
            a = t - period + 1 - j
            y += w * _clamp(q[a, c] - q[a - 1, c], CLIP)
    return y


@njit(cache=True, inline="always")
def _first(q, c, center, first_slope):
    """Prediction of row 0: ``center[c]``, plus ``first_slope[c]`` (units ``2**-20``) times the deviation
    of the value just decoded (column ``c-1`` of row 0) from its own center."""
    if c == 0:
        return np.int64(center[0])
    d = first_slope[c] * _clamp(q[0, c - 1] - center[c - 1], CLIP)
    return _clamp(center[c] + ((d + (np.int64(1) << 19)) >> 20), Q_CAP)


@njit(cache=True, inline="always")
def _context_features(q, absr, t, c, cols, ctx, pred, f):
    """The magnitudes the scale class reads at (t, c), into ``f`` (N_CONTEXT,), each in grid units of its
    own column (see CONTEXT_FEATURES); those a position lacks are 0."""
    for i in range(N_CONTEXT):
        f[i] = 0
    f[0] = 1
    if c > 0:
        f[3] = absr[t, c - 1]
    if t > 0:
        f[1] = ctx[c]
        f[2] = absr[t - 1, c]
        if c > 0:
            f[4] = absr[t - 1, c - 1]
            f[6] = _clamp(abs(q[t, c - 1] - q[t - 1, c - 1]), MAG_CAP)
        if c + 1 < cols:
            f[5] = absr[t - 1, c + 1]
        f[9] = _clamp(abs(pred - q[t - 1, c]), MAG_CAP)
        if t > 1:
            f[7] = _clamp(abs(q[t - 1, c] - q[t - 2, c]), MAG_CAP)
            if c + 1 < cols:
                f[8] = _clamp(abs(q[t - 1, c + 1] - q[t - 2, c + 1]), MAG_CAP)


#: what each context magnitude is, and the column it comes from relative to the coded one
CONTEXT_FEATURES = (
    ("bias", 0),
    ("sum of the column's last CTX |r|", 0),
    ("|r| one row up", 0),
    ("|r| of the previous column, this row", -1),
    ("|r| of the previous column, one row up", -1),
    ("|r| of the next column, one row up", 1),
    ("|change| of the previous column into this row", -1),
    ("|change| of the column into the row above", 0),
    ("|change| of the next column into the row above", 1),
    ("|predicted change|", 0),
)


@njit(cache=True, inline="always")
def _scale_context(q, absr, t, c, cols, ctx, pred, cw, f):
    """``4 *`` the expected |residual| at (t, c): the context magnitudes weighed by ``cw[row, c]`` (row 0
    of the record, or a later one) in units of ``2**-CW_BITS``."""
    _context_features(q, absr, t, c, cols, ctx, pred, f)
    row = 1 if t > 0 else 0
    acc = np.int64(0)
    for i in range(N_CONTEXT):
        acc += cw[row, c, i] * f[i]
    return acc >> CW_BITS


@njit(cache=True, inline="always")
def _predict_first(q, c, center, first_slope, low, high):
    """The prediction of (0, c): :func:`_first`, limited to ``[low[c], high[c]]``."""
    return min(max(_first(q, c, center, first_slope), low[c]), high[c])


@njit(cache=True, inline="always")
def _class_at(rec, absr, t, c, cols, ctx, pred, cw, thresh, low, high, f):  # noqa: PLR0913
    """The scale class of value (t, c) of record ``rec`` predicted as ``pred``, from what the decoder
    already has: the weighted magnitudes of the context, offset by one or two times the number of classes
    where the prediction sits at the low or the high limit (never for limits of ``+-Q_CAP``: unlimited).

    Together with the prediction (on row 0 the column's center corrected by the value to its left, after
    it the MLP plus the current-row changes of earlier columns, limited to ``[low[c], high[c]]``) this is
    the model's distribution of the value."""
    return _limited_class(_scale_context(rec, absr, t, c, cols, ctx, pred, cw, f), pred, c, thresh, low, high)


@njit(cache=True, inline="always")
def _limited_class(scale, pred, c, thresh, low, high):
    """The class of ``scale`` (``4 *`` the expected |residual|) among ``thresh``, offset by one or two class
    counts where ``pred`` sits at the low or the high limit of column ``c`` (see :func:`_class_at`)."""
    k = np.int64(_rank(scale, thresh))
    # a prediction at a limit of the data: the residual can only go one way, its own tables
    if pred == low[c] and low[c] > -Q_CAP:
        k += thresh.shape[0] + 1
    elif pred == high[c] and high[c] < Q_CAP:
        k += 2 * (thresh.shape[0] + 1)
    return k


@njit(cache=True, inline="always")
def _class_later(q, absr, t, c, cols, ctx, pred, cw, thresh, low, high):  # noqa: PLR0913
    """:func:`_class_at` of a value after row 0 (t >= 1), its magnitudes weighed as they are read instead of
    gathered into an array first (the decoder's hot path; the same sum, term for term)."""
    w = cw[1, c]
    acc = w[0] + w[1] * ctx[c] + w[2] * absr[t - 1, c] + w[9] * _clamp(abs(pred - q[t - 1, c]), MAG_CAP)
    if c > 0:
        acc += w[3] * absr[t, c - 1] + w[4] * absr[t - 1, c - 1]
        acc += w[6] * _clamp(abs(q[t, c - 1] - q[t - 1, c - 1]), MAG_CAP)
    if c + 1 < cols:
        acc += w[5] * absr[t - 1, c + 1]
    if t > 1:
        acc += w[7] * _clamp(abs(q[t - 1, c] - q[t - 2, c]), MAG_CAP)
        if c + 1 < cols:
            acc += w[8] * _clamp(abs(q[t - 1, c + 1] - q[t - 2, c + 1]), MAG_CAP)
    return _limited_class(acc >> CW_BITS, pred, c, thresh, low, high)


#: slots per bucket of the decoder's symbol index (:func:`_symbol_index`)
BUCKET_BITS = 8


@njit(cache=True)
def _symbol_index(cum):
    """Per class, the symbol holding the first slot of each bucket of ``2**BUCKET_BITS`` slots, and (last
    entry) the one holding the last slot, from the cumulative frequencies ``cum`` (classes, NSYM): the
    symbol of a slot lies between its bucket's entry and the next one (:func:`_symbol_of`)."""
    classes, nsym = cum.shape
    buckets = M >> BUCKET_BITS
    index = np.empty((classes, buckets + 1), np.int64)
    for k in range(classes):
        sym = 0
        for b in range(buckets + 1):
            slot = min(b << BUCKET_BITS, M - 1)
            while sym + 1 < nsym and cum[k, sym + 1] <= slot:
                sym += 1
            index[k, b] = sym
    return index


@njit(cache=True, inline="always")
def _symbol_of(slot, row, index_row):
    """The symbol of ``slot``: the last one whose cumulative frequency in ``row`` is <= ``slot``, what
    ``_rank(slot, row) - 1`` gives, searched between the bounds ``index_row`` gives for its bucket (few
    symbols, where the whole table takes ``log2 NSYM`` dependent reads)."""
    b = slot >> BUCKET_BITS
    lo = index_row[b]
    return lo + np.int64(_rank(slot, row[lo + 1 : index_row[b + 1] + 1]))


@njit(cache=True, inline="always")
def _sign(v):
    return np.int64((v > 0) - (v < 0))


@njit(cache=True, inline="always")
def _table(k, res, t, c, signs, levels, pred, low, high):  # noqa: PLR0913
    """The table (before the model's table map) of scale class ``k`` at (t, c), predicted as ``pred``,
    given the signed residuals ``res`` (rows, cols) decoded before it: ``(k * signs + e) * levels + v``.
    The sign context ``e`` is 0 for ``signs`` 1, the sign of the residual one row up plus 1 for 3, and for
    9 that times 3 plus the sign of the residual to the left plus 1 (a residual a position lacks counts as
    0). The level ``v`` is where the prediction sits between the column's limits, in ``levels`` equal
    parts: ``(pred - low) * levels // (high - low + 1)`` (0 for ``levels`` 1)."""
    e = np.int64(0)
    if signs > 1:
        e = _sign(res[t - 1, c]) + 1 if t > 0 else np.int64(1)
        if signs == 9:
            e = 3 * e + (_sign(res[t, c - 1]) + 1 if c > 0 else np.int64(1))
    out = k * signs + e
    if levels > 1:
        v = (pred - low[c]) * levels // (high[c] - low[c] + 1)
        out = out * levels + min(max(v, 0), levels - 1)
    return out


@njit(cache=True, inline="always")
def _refill(state, words, ptr, end):
    """Renormalise the decoder's rANS state: one 16-bit word in when it fell below ``L``. Returns
    ``(state, ptr, fed)``; ``fed`` is False when a word was due and the stream had none left."""
    if state < L:
        if ptr < end:
            return (state << 16) | np.int64(words[ptr]), ptr + 1, True
        return state, ptr, False
    return state, ptr, True


@njit(cache=True, inline="always")
def _reset_context(ring, ctx, default):
    for c in range(ctx.shape[0]):
        for s in range(CTX):
            ring[s, c] = default[c]
        ctx[c] = CTX * default[c]


@njit(cache=True, inline="always")
def _push_context(ring, ctx, absr, t, c, r):
    a = _clamp(abs(r), MAG_CAP)
    absr[t, c] = a
    slot = t % CTX
    ctx[c] += a - ring[slot, c]
    ring[slot, c] = a


#: feature rows per matrix product of :func:`mlp_batch`: its hidden layer stays in the caches
BLOCK = 256


@njit(cache=True)
def mlp_batch(x, n, c, mlp, xf, hf, hi, y):  # noqa: PLR0913
    """:func:`~compressor.learned.mlp.mlp_rows` of the first ``n`` feature rows of ``x`` (.., N_FEAT) int64 for
    column ``c``, the same integers, into ``y``. Where float64 is exact for the column (every partial sum an
    integer below ``2**53``, in any order), the first layer is a matrix product (BLAS) per :data:`BLOCK`
    rows, the rest as :func:`~compressor.learned.mlp.mlp_rows` does it; else that function's int64 loop.
    Scratch: ``xf`` (BLOCK, N_FEAT) and ``hf`` (BLOCK, H) float64, ``hi`` (H,) int64."""
    w1, _, w2, b2, hshift, w1f, b1f, exact = mlp
    if not exact[c]:
        mlp_rows(x, n, c, mlp, H_CAP, hf[0], hi, y)
        return
    # h >> sh is floor(h * 2**-sh) (h an integer, a power-of-two scale: exact); the capped activation is an
    # integer in [0, 2**26] and |w2| <= 2**30, so both fit int32 and each product int64 (vectorised)
    unit = 1.0 / np.float64(np.int64(1) << hshift[c])
    cap = np.float64(H_CAP)
    hidden = w1.shape[2]
    w = w1f[c]
    for start in range(0, n, BLOCK):
        size = min(BLOCK, n - start)
        for p in range(size):
            for f in range(N_FEAT):
                xf[p, f] = np.float64(x[start + p, f])
        np.dot(xf[:size], w, hf[:size])
        for p in range(size):
            acc = np.int64(0)
            for u in range(hidden):
                a = min(max(np.floor((hf[p, u] + b1f[c, u]) * unit), 0.0), cap)
                acc += np.int64(np.int32(a)) * np.int64(np.int32(w2[c, u]))
            y[start + p] = b2[c] + acc


@njit(cache=True)
def predictions(q, model):
    """The prediction (N, rows, cols) of every value of grid integers ``q`` (N, rows, cols) int64 under
    ``model`` (the arrays of :meth:`~compressor.learned.model.KernelParams.predictor_args`). They depend on
    values only, all known at the encoder, so the MLP runs over all rows of every record's column at once."""
    w1, _, _, _, _, center, _, cross, first_slope, _, level, low, high = model[:13]
    season, period = model[18], model[19]
    mlp = _mlp_of(model)
    n, rows, cols = q.shape
    pred = np.empty((n, rows, cols), np.int64)
    m = max(n * (rows - 1), 1)
    x = np.empty((m, N_FEAT), np.int64)
    xf = np.empty((BLOCK, N_FEAT), np.float64)
    y = np.empty(m, np.int64)
    hf = np.empty((BLOCK, w1.shape[2]), np.float64)
    hi = np.empty(w1.shape[2], np.int64)
    for c in range(cols):
        for i in range(n):
            rec = q[i]
            pred[i, 0, c] = _predict_first(rec, c, center, first_slope, low, high)
            for t in range(1, rows):
                _clamped_features(rec, t, c, cols, level, x, i * (rows - 1) + t - 1)
        mlp_batch(x, n * (rows - 1), c, mlp, xf, hf, hi, y)
        for i in range(n):
            rec = q[i]
            for t in range(1, rows):
                pred[i, t, c] = _predict(
                    rec, t, c, y[i * (rows - 1) + t - 1], cross, season, period, low, high
                )
    return pred


@njit(cache=True)
def _classes(q, pred, model, thresh, feats, keep):
    """Residuals and tables (N, rows, cols) of ``q`` predicted as ``pred``, in decoding order (the scale
    classes read the residuals before them; the table is the class's, or one of its sign contexts, see
    :func:`_table`); the context magnitudes into ``feats`` where ``keep``."""
    default, cw, low, high, signs, levels = model[6], model[9], model[11], model[12], model[16], model[17]
    n, rows, cols = q.shape
    res = np.empty((n, rows, cols), np.int64)
    cls = np.empty((n, rows, cols), np.int64)
    ring = np.zeros((CTX, cols), np.int64)
    ctx = np.zeros(cols, np.int64)
    absr = np.zeros((rows, cols), np.int64)
    f = np.zeros(N_CONTEXT, np.int64)
    for i in range(n):
        rec = q[i]
        _reset_context(ring, ctx, default)
        for t in range(rows):
            for c in range(cols):
                p = pred[i, t, c]
                k = _class_at(rec, absr, t, c, cols, ctx, p, cw, thresh, low, high, f)
                cls[i, t, c] = _table(k, res[i], t, c, signs, levels, p, low, high)
                if keep:
                    feats[i, t, c] = f
                r = rec[t, c] - p
                res[i, t, c] = r
                _push_context(ring, ctx, absr, t, c, r)
    return res, cls


@njit(cache=True)
def residuals(q, model, thresh):
    """Residuals, scale classes (N, rows, cols) and context magnitudes (N, rows, cols, N_CONTEXT) of grid
    integers ``q`` (N, rows, cols) int64 under ``model`` (the arrays of
    :meth:`~compressor.learned.model.KernelParams.predictor_args`): what training fits on."""
    n, rows, cols = q.shape
    feats = np.empty((n, rows, cols, N_CONTEXT), np.int64)
    res, cls = _classes(q, predictions(q, model), model, thresh, feats, True)
    return res, cls, feats


@njit(cache=True)
def _known_classes(q, pred, model, thresh):  # noqa: PLR0914
    """:func:`_classes` without the context magnitudes, the same residuals and classes, from every value
    at once (the encoder's case): rows after the first weigh their magnitudes as scalars read from arrays
    of all the record's |residuals| and |changes|, padded by a zero column either side, instead of
    gathering them per value (row 0 goes through :func:`_class_at` as in decoding). The classes come out
    as tables (:func:`_table`, before the table map)."""
    default, cw, low, high, signs, levels = model[6], model[9], model[11], model[12], model[16], model[17]
    n, rows, cols = q.shape
    res = q - pred
    cls = np.empty((n, rows, cols), np.int64)
    ring = np.zeros((CTX, cols), np.int64)
    ctx = np.zeros(cols, np.int64)
    absr = np.zeros((rows, cols), np.int64)
    f = np.zeros(N_CONTEXT, np.int64)
    mag = np.zeros((rows, cols + 2), np.int64)  # |r|, column c at c + 1
    chg = np.zeros((rows, cols + 2), np.int64)  # |change into the row|, 0 on row 0
    for i in range(n):
        rec = q[i]
        _reset_context(ring, ctx, default)
        for c in range(cols):
            p = pred[i, 0, c]
            k = _class_at(rec, absr, 0, c, cols, ctx, p, cw, thresh, low, high, f)
            cls[i, 0, c] = _table(k, res[i], 0, c, signs, levels, p, low, high)
            _push_context(ring, ctx, absr, 0, c, res[i, 0, c])
        for t in range(rows):
            for c in range(cols):
                mag[t, c + 1] = _clamp(abs(res[i, t, c]), MAG_CAP)
                if t > 0:
                    chg[t, c + 1] = _clamp(abs(rec[t, c] - rec[t - 1, c]), MAG_CAP)
        for c in range(cols):
            w = cw[1, c]
            total = CTX * default[c]  # the column's last CTX |r|, default[c] before the record
            for t in range(1, rows):
                total += mag[t - 1, c + 1] - (mag[t - 1 - CTX, c + 1] if t > CTX else default[c])
                p = pred[i, t, c]
                acc = (
                    w[0]
                    + w[1] * total
                    + w[2] * mag[t - 1, c + 1]
                    + w[3] * mag[t, c]
                    + w[4] * mag[t - 1, c]
                    + w[5] * mag[t - 1, c + 2]
                    + w[6] * chg[t, c]
                    + w[7] * chg[t - 1, c + 1]
                    + w[8] * chg[t - 1, c + 2]
                    + w[9] * _clamp(abs(p - rec[t - 1, c]), MAG_CAP)
                )
                k = _limited_class(acc >> CW_BITS, p, c, thresh, low, high)
                cls[i, t, c] = _table(k, res[i], t, c, signs, levels, p, low, high)
    return res, cls


@njit(cache=True)
def coded(q, model, thresh):
    """Residuals and scale classes (N, rows, cols) of grid integers ``q``: what the encoder codes
    (:func:`residuals` without the context magnitudes)."""
    return _known_classes(q, predictions(q, model), model, thresh)


@njit(cache=True)
def encode_batch(res, cls, shifts, freq, cum, start):
    """rANS streams of residuals ``res`` with scale classes ``cls`` (N, D), both in decoding order, each
    from the encoder state ``start``: ``L`` (kinds 3 and 6: the state never leaves ``[L, L << 16)``) or 1
    (kind 8: the state grows from 1 until it first passes ``L``, so the stream spends no bits on a start
    the decoder must end at).

    Returns ``(words, lengths, states)``: ``words`` (N, maxlen) uint16 in reading order, ``lengths`` (N,)
    the words of each record, ``states`` (N,) the final rANS state (the head of a stream)."""
    n, d = res.shape
    per = 5 * d  # symbols per value at most: table, low bits, escape as 3 words
    starts = np.empty(per, np.int64)
    freqs = np.empty(per, np.int64)
    words = np.zeros((n, 2 * per + 2), np.uint16)
    lengths = np.zeros(n, np.int64)
    states = np.zeros(n, np.int64)
    buf = np.zeros(2 * per + 2, np.uint16)
    for i in range(n):
        ns = 0
        for j in range(d):
            r = res[i, j]
            k = cls[i, j]
            sh = shifts[k]
            s = r >> sh
            sym = s + R if -R <= s <= R else ESC
            starts[ns] = cum[k, sym]
            freqs[ns] = freq[k, sym]
            ns += 1
            if sh > 0:
                f = np.int64(1) << (M_BITS - sh)
                starts[ns] = (r & ((np.int64(1) << sh) - 1)) * f
                freqs[ns] = f
                ns += 1
            if sym == ESC:
                z = (r << 1) ^ (r >> 63)  # zigzag, 48 bits
                for part in range(3):
                    starts[ns] = (z >> (16 * part)) & 0xFFFF
                    freqs[ns] = 1
                    ns += 1
        # rANS: symbols in reverse, words emitted in reverse reading order
        state = np.int64(start)
        nw = 0
        for j in range(ns - 1, -1, -1):
            f = freqs[j]
            if state >= (f << 16):
                buf[nw] = state & 0xFFFF
                nw += 1
                state >>= 16
            state = ((state // f) << M_BITS) + (state % f) + starts[j]
        for j in range(nw):
            words[i, j] = buf[nw - 1 - j]
        lengths[i] = nw
        states[i] = state
    return words, lengths, states


@njit(cache=True)
def decode_batch(words, offsets, states, rows, cols, model, thresh, tables, shifts, freq, cum, start):  # noqa: PLR0913, PLR0915
    """Grid integers (N, rows, cols) of the streams in ``words`` (all records' words concatenated;
    record ``i`` spans ``offsets[i]:offsets[i + 1]``, its initial state ``states[i]``), and per record
    whether its stream was consistent (every word read, the final state the encoder's ``start``).
    ``tables`` maps each table of :func:`_table` to its row of ``shifts``, ``freq`` and ``cum``.

    With ``start == L`` (kinds 3 and 6) the state stays in ``[L, L << 16)`` and a word due when none is
    left fails the record; with ``start < L`` (kind 8) the state falls below ``L`` only once every word is
    read (the encoder emits no word before its state first passes ``L``), so that is no failure.

    Records are decoded side by side, one position at a time: each value needs the ones before it in its
    own record, but records are independent, so the MLP runs over every record at a position at once. A
    record whose stream turns out inconsistent is left where it failed."""
    _, _, _, _, _, center, default, cross, first_slope, cw, level, low, high = model[:13]
    signs, levels, season, period = model[16], model[17], model[18], model[19]
    mlp = _mlp_of(model)
    n = states.shape[0]
    q = np.zeros((n, rows, cols), np.int64)
    state = states.copy()
    ptr = offsets[:n].copy()
    strict = start >= L
    bad = (state < (L if strict else 0)) | (state >= (np.int64(L) << 16))
    ring = np.zeros((n, CTX, cols), np.int64)
    ctx = np.zeros((n, cols), np.int64)
    absr = np.zeros((n, rows, cols), np.int64)
    res = np.zeros((n, rows, cols), np.int64)
    for i in range(n):
        _reset_context(ring[i], ctx[i], default)
    x = np.zeros((max(n, 1), N_FEAT), np.int64)
    xf = np.zeros((BLOCK, N_FEAT), np.float64)
    y = np.zeros(max(n, 1), np.int64)
    hf = np.empty((BLOCK, model[0].shape[2]), np.float64)
    hi = np.empty(model[0].shape[2], np.int64)
    mags = np.zeros(N_CONTEXT, np.int64)
    mask = M - 1
    # the symbol index pays for its building where the batch has more values than it has entries
    indexed = n * rows * cols >= cum.shape[0] * ((M >> BUCKET_BITS) + 1)
    index = _symbol_index(cum) if indexed else np.zeros((0, 0), np.int64)
    for t in range(rows):
        for c in range(cols):
            if t > 0:
                for i in range(n):
                    _clamped_features(q[i], t, c, cols, level, x, i)
                mlp_batch(x, n, c, mlp, xf, hf, hi, y)
            for i in range(n):
                if bad[i]:
                    continue
                rec = q[i]
                if t == 0:
                    pred = _predict_first(rec, c, center, first_slope, low, high)
                    k = _class_at(rec, absr[i], t, c, cols, ctx[i], pred, cw, thresh, low, high, mags)
                else:
                    pred = _predict(rec, t, c, y[i], cross, season, period, low, high)
                    k = _class_later(rec, absr[i], t, c, cols, ctx[i], pred, cw, thresh, low, high)
                k = tables[_table(k, res[i], t, c, signs, levels, pred, low, high)]
                s = state[i]
                p = ptr[i]
                end = offsets[i + 1]
                # table symbol
                slot = s & mask
                if indexed:
                    sym = _symbol_of(slot, cum[k], index[k])
                else:
                    sym = np.int64(_rank(slot, cum[k])) - 1
                s = freq[k, sym] * (s >> M_BITS) + slot - cum[k, sym]
                s, p, fed = _refill(s, words, p, end)
                fail = strict and not fed
                sh = shifts[k]
                low_bits = np.int64(0)
                if sh > 0:
                    f = np.int64(1) << (M_BITS - sh)
                    slot = s & mask
                    low_bits = slot // f
                    s = f * (s >> M_BITS) + slot - low_bits * f
                    s, p, fed = _refill(s, words, p, end)
                    fail |= strict and not fed
                if sym == ESC:
                    z = np.int64(0)
                    for part in range(3):
                        slot = s & mask
                        z |= slot << (16 * part)
                        s = s >> M_BITS
                        s, p, fed = _refill(s, words, p, end)
                        fail |= strict and not fed
                    r = (z >> 1) ^ -(z & 1)
                else:
                    r = ((sym - R) << sh) | low_bits
                v = pred + r
                if v > Q_CAP or v < -Q_CAP:
                    fail = True
                    v = np.int64(0)
                rec[t, c] = v
                res[i, t, c] = r
                _push_context(ring[i], ctx[i], absr[i], t, c, r)
                state[i] = s
                ptr[i] = p
                bad[i] = fail
    ok = ~bad & (ptr == offsets[1:]) & (state == start)
    return q, ok
