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

* row 0: prediction ``center[c]``, scale class ``first_class[c]``;
* later rows: prediction ``q[t-1, c] + mlp(features)``, class from ``sum |r|`` of the column's last
  ``CTX`` residuals (``default[c]`` stands in for residuals before the record);
* residual ``r = q - prediction`` coded as ``r >> shift[k]`` in the class's table (an escape symbol for
  ``|r >> shift| > R``, then ``r`` as 48 raw bits), followed by the ``shift[k]`` low bits, uniform.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "CLIP",
    "CTX",
    "ESC",
    "K_HIST",
    "M_BITS",
    "NSYM",
    "FEATURE_COLUMN",
    "N_DIFF",
    "R",
    "decode_batch",
    "encode_batch",
    "features_all",
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
N_DIFF = (K_HIST - 1) + 3 + 2  # difference features before the column one-hot
H_CAP = 1 << 26  # hidden activations capped (after the shift): |h * w2| * H inside int64
Q_CAP = 1 << 42  # |prediction| cap


@njit(cache=True, inline="always")
def _clamp(v: np.int64, cap: int) -> np.int64:
    """``v`` limited to ``[-cap, cap]``."""
    if v > cap:
        return np.int64(cap)
    if v < -cap:
        return np.int64(-cap)
    return v


@njit(cache=True, inline="always")
def _features(q, t, c, cols, x):
    """The differences the MLP reads at (t, c), t >= 1, into ``x`` (N_DIFF,): each is a difference of two
    values of one column, so it scales with that column's grid step alone."""
    prev = q[t - 1, c]
    if t >= K_HIST:
        for j in range(2, K_HIST + 1):
            x[j - 2] = q[t - j, c] - prev
    else:
        for j in range(2, K_HIST + 1):
            x[j - 2] = q[max(t - j, 0), c] - prev
    t2 = max(t - 2, 0)
    t3 = max(t - 3, 0)
    if c > 0:
        x[7] = q[t, c - 1] - q[t - 1, c - 1]
        x[8] = q[t - 1, c - 1] - q[t2, c - 1]
        x[9] = q[t2, c - 1] - q[t3, c - 1]
    else:
        x[7] = 0
        x[8] = 0
        x[9] = 0
    if c + 1 < cols:
        x[10] = q[t - 1, c + 1] - q[t2, c + 1]
        x[11] = q[t2, c + 1] - q[t3, c + 1]
    else:
        x[10] = 0
        x[11] = 0


#: the column each difference feature is taken from, relative to the predicted one
FEATURE_COLUMN = (0, 0, 0, 0, 0, 0, 0, -1, -1, -1, 1, 1)


@njit(cache=True)
def features_all(v):
    """Features (N, rows, cols, N_DIFF) of every position t >= 1 (row 0 left zero) of values ``v``
    (N, rows, cols): what training fits the MLP on, from the definition the coder uses."""
    n, rows, cols = v.shape
    out = np.zeros((n, rows, cols, N_DIFF), v.dtype)
    for i in range(n):
        for t in range(1, rows):
            for c in range(cols):
                _features(v[i], t, c, cols, out[i, t, c])
    return out


@njit(cache=True, inline="always")
def _predict(q, t, c, cols, w1, b1, w2, b2, hshift, x, h):  # noqa: PLR0913
    """``q[t-1, c] + mlp_c(features at (t, c))`` for one record ``q`` (rows, cols), t >= 1: column ``c``'s
    weights ``w1[c]`` (N_DIFF, H) in units of ``2**-(hshift[c] + 8)``, ``w2[c]`` (H,) in units of
    ``2**-12``, ``b2[c]`` in units of ``2**-20``."""
    prev = q[t - 1, c]
    _features(q, t, c, cols, x)
    for i in range(N_DIFF):
        x[i] = _clamp(x[i], CLIP)
    hidden = w1.shape[2]
    for u in range(hidden):
        h[u] = b1[c, u]
    for i in range(N_DIFF):
        xi = np.int64(np.int32(x[i]))
        for u in range(hidden):
            h[u] += xi * np.int64(w1[c, i, u])
    y = b2[c]
    sh = hshift[c]
    for u in range(hidden):
        a = h[u] >> sh  # to units of 2**-8, floor
        if a > 0:
            if a > H_CAP:
                a = np.int64(H_CAP)
            y += a * np.int64(w2[c, u])
    d = (y + (np.int64(1) << 19)) >> 20  # units 2**-20 -> 1, rounded half up
    return _clamp(prev + d, Q_CAP)


@njit(cache=True, inline="always")
def _class_of(ctx4, thresh):
    """The number of thresholds <= ctx4 (binary search over the sorted thresholds)."""
    lo = 0
    hi = thresh.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if thresh[mid] <= ctx4:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _model_at(rec, t, c, cols, w1, b1, w2, b2, hshift, center, first_class, thresh, ctx, x, h):  # noqa: PLR0913
    """Prediction and scale class of value (t, c) of record ``rec``, from what the decoder already has:
    the column's center and first class on row 0, the MLP and the residual context after it."""
    if t == 0:
        return np.int64(center[c]), np.int64(first_class[c])
    return _predict(rec, t, c, cols, w1, b1, w2, b2, hshift, x, h), np.int64(_class_of(4 * ctx[c], thresh))


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
def _push_context(ring, ctx, t, c, r):
    a = abs(r)
    if a > (1 << 30):
        a = np.int64(1 << 30)
    slot = t % CTX
    ctx[c] += a - ring[slot, c]
    ring[slot, c] = a


@njit(cache=True)
def residuals(q, w1, b1, w2, b2, hshift, center, default, first_class, thresh):  # noqa: PLR0913
    """Residuals and scale classes (N, rows, cols) of grid integers ``q`` (N, rows, cols) int64: what the
    encoder codes, and what training fits the tables on."""
    n, rows, cols = q.shape
    res = np.empty((n, rows, cols), np.int64)
    cls = np.empty((n, rows, cols), np.int64)
    x = np.zeros(N_DIFF, np.int64)
    h = np.zeros(w1.shape[2], np.int64)
    ring = np.zeros((CTX, cols), np.int64)
    ctx = np.zeros(cols, np.int64)
    for i in range(n):
        rec = q[i]
        _reset_context(ring, ctx, default)
        for t in range(rows):
            for c in range(cols):
                pred, k = _model_at(
                    rec, t, c, cols, w1, b1, w2, b2, hshift, center, first_class, thresh, ctx, x, h
                )
                r = rec[t, c] - pred
                res[i, t, c] = r
                cls[i, t, c] = k
                _push_context(ring, ctx, t, c, r)
    return res, cls


@njit(cache=True)
def encode_batch(res, cls, shifts, freq, cum):
    """rANS streams of residuals ``res`` with scale classes ``cls`` (N, D), both in decoding order.

    Returns ``(words, lengths, states)``: ``words`` (N, maxlen) uint16 in reading order, ``lengths`` (N,)
    the words of each record, ``states`` (N,) the final rANS state (the first 4 bytes of a stream)."""
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
        state = np.int64(L)
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
def decode_batch(
    words,
    offsets,
    states,
    rows,
    cols,
    w1,
    b1,
    w2,
    b2,
    hshift,
    center,
    default,
    first_class,
    thresh,
    shifts,
    freq,
    cum,
    lut,
):  # noqa: E501, PLR0913, PLR0915
    """Grid integers (N, rows, cols) of the streams in ``words`` (all records' words concatenated;
    record ``i`` spans ``offsets[i]:offsets[i + 1]``, its initial state ``states[i]``), and per record
    whether its stream was consistent (every word read, the final state the encoder's initial one)."""
    n = states.shape[0]
    q = np.zeros((n, rows, cols), np.int64)
    ok = np.ones(n, np.bool_)
    x = np.zeros(N_DIFF, np.int64)
    h = np.zeros(w1.shape[2], np.int64)
    ring = np.zeros((CTX, cols), np.int64)
    ctx = np.zeros(cols, np.int64)
    mask = M - 1
    for i in range(n):
        rec = q[i]
        state = states[i]
        ptr = offsets[i]
        end = offsets[i + 1]
        bad = state < L or state >= (np.int64(L) << 16)
        _reset_context(ring, ctx, default)
        for t in range(rows):
            if bad:
                break
            for c in range(cols):
                pred, k = _model_at(
                    rec, t, c, cols, w1, b1, w2, b2, hshift, center, first_class, thresh, ctx, x, h
                )
                # table symbol
                slot = state & mask
                sym = np.int64(lut[k, slot])
                state = freq[k, sym] * (state >> M_BITS) + slot - cum[k, sym]
                state, ptr, fed = _refill(state, words, ptr, end)
                bad |= not fed
                sh = shifts[k]
                low = np.int64(0)
                if sh > 0:
                    f = np.int64(1) << (M_BITS - sh)
                    slot = state & mask
                    low = slot // f
                    state = f * (state >> M_BITS) + slot - low * f
                    state, ptr, fed = _refill(state, words, ptr, end)
                    bad |= not fed
                if sym == ESC:
                    z = np.int64(0)
                    for part in range(3):
                        slot = state & mask
                        z |= slot << (16 * part)
                        state = state >> M_BITS
                        state, ptr, fed = _refill(state, words, ptr, end)
                        bad |= not fed
                    r = (z >> 1) ^ -(z & 1)
                else:
                    r = ((sym - R) << sh) | low
                v = pred + r
                if v > Q_CAP or v < -Q_CAP:
                    bad = True
                    v = np.int64(0)
                rec[t, c] = v
                _push_context(ring, ctx, t, c, r)
        if bad or ptr != end or state != L:
            ok[i] = False
    return q, ok
