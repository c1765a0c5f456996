"""Compiled inner loops of the error-bounded encoder for one record at a time (the per-record serializers).

The batch encoder (:mod:`~compressor.bounded.encoder`) makes a few hundred small NumPy calls per batch:
cheap per record on a batch of thousands, but most of the cost of a batch of one. These loops do the same
work for a single record in a handful of compiled calls, and compute exactly what the batch code computes
for a batch of one, so a record's payload is the same bytes whichever path wrote it:

* the grid integers, raw mask and rebuilt values are the IEEE operations of :func:`grid.quantize` and
  :func:`grid.rebuild` (one division, ``rint``, one product, one cast; no fused multiply-add);
* the residuals and block sums are integer arithmetic;
* the float estimates that steer the encoder's choices (:func:`context.greedy_bits` and the Viterbi pass
  of :func:`context.choose_classes`) add the same products in the same order as NumPy does for one record:
  elementwise sums one by one, and the reduction over ``cols x blocks`` as NumPy's pairwise summation
  (:func:`_pairwise`), so every comparison, and every tie, comes out the same.

Only what a batch of one needs is here; anything else (the grid comparison of the ``"choose"`` policy,
fitted tables, records of more than :data:`MAX_BLOCKS` blocks) stays with the batch code.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from compressor.bounded.grid import MAX_GRID
from compressor.bounded.linear import residuals_into
from compressor.bounded.tables import CLASSES, ESCAPE, RADIUS

__all__ = [
    "MAX_BLOCKS",
    "block_costs",
    "choose_classes_one",
    "fill_raw",
    "greedy_bits_one",
    "quantize_one",
    "rebuild_one",
    "residuals_one",
    "search_one",
    "symbols_one",
]

#: records with more blocks than this (cols x blocks) go through the batch code: NumPy's pairwise sum is
#: replicated here up to one block of its recursion
MAX_BLOCKS = 128

_BIG = float(MAX_GRID)


@njit(cache=True)
def quantize_one(x: np.ndarray, step: np.ndarray, bound: float) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`grid.quantize` of one float32 record ``x`` (D,) on per-value steps (D,) float64, and the
    number of raw values."""
    d = x.shape[0]
    q = np.zeros(d, np.int64)
    raw = np.zeros(d, np.bool_)
    n_raw = 0
    for i in range(d):
        v = np.float64(x[i])
        scaled = np.rint(v / step[i])
        if np.isfinite(scaled) and abs(scaled) <= _BIG:
            qi = np.int64(scaled)
            rebuilt = np.float64(np.float32(np.float64(qi) * step[i]))
            if abs(rebuilt - v) <= bound:
                q[i] = qi
                continue
        raw[i] = True
        n_raw += 1
    return q, raw, n_raw


@njit(cache=True)
def rebuild_one(q: np.ndarray, step: np.ndarray, raw: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The values a consumer decodes: ``float32(q * step)``, and the original float32 at raw positions."""
    d = q.shape[0]
    out = np.empty(d, np.float32)
    for i in range(d):
        out[i] = x[i] if raw[i] else np.float32(np.float64(q[i]) * step[i])
    return out


@njit(cache=True)
def fill_raw(q: np.ndarray, raw: np.ndarray, center: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Grid integers (rows, cols) with each raw position given the previous valid value of its column (the
    center before the first one), as the batch encoder's ``_fill``."""
    out = q.reshape(rows, cols).copy()
    flags = raw.reshape(rows, cols)
    for c in range(cols):
        prev = -1
        for t in range(rows):
            if flags[t, c]:
                out[t, c] = out[prev, c] if prev >= 0 else center[t, c]
            else:
                prev = t
    return out


@njit(cache=True)
def residuals_one(kind: int, q: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Residuals in scan order (cols, rows) of grid values ``q`` (rows, cols) under simple predictor
    ``kind`` (the index in :data:`predictors.PREDICTORS`: delta, center, delta2, plane)."""
    rows, cols = q.shape
    r = np.empty((cols, rows), np.int64)
    for c in range(cols):
        for t in range(rows):
            if kind == 0:  # delta
                r[c, t] = q[t, c] - (q[t - 1, c] if t else center[0, c])
            elif kind == 1:  # center
                r[c, t] = q[t, c] - center[t, c]
            elif kind == 2:  # delta2: differences of the delta residuals from row 2 on
                u = q[t, c] - (q[t - 1, c] if t else center[0, c])
                if t >= 2:
                    u -= q[t - 1, c] - q[t - 2, c]
                r[c, t] = u
            else:  # plane: rows then columns differenced, around the first center value
                base = center[0, 0]
                v = q[t, c] - base
                if t:
                    v -= q[t - 1, c] - base
                if c:
                    w = q[t, c - 1] - base
                    if t:
                        w -= q[t - 1, c - 1] - base
                    v -= w
                r[c, t] = v
    return r


@njit(cache=True)
def block_costs(r: np.ndarray, block: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated bits (cols, blocks, K) of every block of residuals ``r`` (cols, rows) under every class:
    ``length * a[k] + sum|r| * b[k]``, the products rounded one by one as NumPy computes them."""
    cols, rows = r.shape
    nb = -(-rows // block)
    k = a.shape[0]
    out = np.empty((cols, nb, k))
    for c in range(cols):
        for j in range(nb):
            end = min(rows, (j + 1) * block)
            s = np.int64(0)
            for t in range(j * block, end):
                s += abs(r[c, t])
            length = np.float64(end - j * block)
            total = np.float64(s)
            for m in range(k):
                la = length * a[m]
                sb = total * b[m]
                out[c, j, m] = la + sb
    return out


@njit(cache=True)
def _pairwise(v: np.ndarray) -> float:
    """NumPy's pairwise sum of at most 128 values (its unrolled block: eight accumulators)."""
    n = v.shape[0]
    if n < 8:
        res = -0.0
        for i in range(n):
            res += v[i]
        return res
    acc = v[:8].copy()
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            acc[j] += v[i + j]
        i += 8
    res = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    while i < n:
        res += v[i]
        i += 1
    return res


@njit(cache=True)
def greedy_bits_one(cost: np.ndarray) -> float:
    """:func:`context.greedy_bits` of one record from its :func:`block_costs`: the best class per block,
    summed over columns and blocks in NumPy's order."""
    cols, nb, k = cost.shape
    best = np.empty(cols * nb)
    for c in range(cols):
        for j in range(nb):
            m = cost[c, j, 0]
            for h in range(1, k):
                if cost[c, j, h] < m:
                    m = cost[c, j, h]
            best[c * nb + j] = m
    return _pairwise(best)


@njit(cache=True)
def choose_classes_one(cost: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """:func:`context.choose_classes` of one record: the class per block (cols, blocks), by the same
    Viterbi pass (a class step costs ``penalty[d + 3]``, at most 3 steps; ties to the lowest index)."""
    cols, nb, k = cost.shape
    best = np.empty((cols, nb), np.int64)
    back = np.empty((nb, k), np.int64)
    acc = np.empty(k)
    nxt = np.empty(k)
    for c in range(cols):
        if nb == 1:
            arg = 0
            for h in range(1, k):
                if cost[c, 0, h] < cost[c, 0, arg]:
                    arg = h
            best[c, 0] = arg
            continue
        for h in range(k):
            acc[h] = cost[c, 0, h]
        for t in range(1, nb):
            for j in range(k):
                arg = 0
                low = 0.0
                for w in range(7):
                    at = j - 3 + w
                    prev = acc[at] if 0 <= at < k else 1e30
                    cand = prev + penalty[w]
                    if w == 0 or cand < low:
                        low = cand
                        arg = w
                back[t, j] = 3 - arg
                nxt[j] = low + cost[c, t, j]
            for j in range(k):
                acc[j] = nxt[j]
        arg = 0
        for h in range(1, k):
            if acc[h] < acc[arg]:
                arg = h
        best[c, nb - 1] = arg
        for t in range(nb - 1, 0, -1):
            best[c, t - 1] = best[c, t] - back[t, best[c, t]]
    return best


@njit(cache=True)
def search_one(  # noqa: PLR0913
    q: np.ndarray,
    raw: np.ndarray,
    n_raw: int,
    center: np.ndarray,
    block: int,
    a: np.ndarray,
    b: np.ndarray,
    coef: np.ndarray,
    linear_slot: int,
) -> tuple[np.ndarray, float, int, np.ndarray]:
    """The batch encoder's ``_search`` for one record on its grid (``q``, ``raw`` from
    :func:`quantize_one`): the grid integers (rows, cols) with raw positions filled, and the cheapest simple
    predictor by the quick estimate (the first one on a tie), then the fitted linear one in ``linear_slot``
    where ``coef`` (cols, P) has columns: its bits, slot and residuals (cols, rows)."""
    rows, cols = center.shape
    qg = fill_raw(q, raw, center, rows, cols) if n_raw else q.reshape(rows, cols)
    best_bits = np.inf
    best_pred = 0
    best_r = np.zeros((cols, rows), np.int64)
    for kind in range(4):
        r = residuals_one(kind, qg, center)
        bits = greedy_bits_one(block_costs(r, block, a, b))
        if bits < best_bits:
            best_bits = bits
            best_pred = kind
            best_r = r
    if coef.shape[1] > 0:
        one = np.empty((1, rows, cols), np.int64)
        residuals_into(np.ascontiguousarray(qg).reshape(1, rows, cols), coef, center, one)
        r = np.ascontiguousarray(one[0].T)
        bits = greedy_bits_one(block_costs(r, block, a, b))
        if bits < best_bits:
            best_bits = bits
            best_pred = linear_slot
            best_r = r
    return qg, best_bits, best_pred, best_r


@njit(cache=True)
def symbols_one(  # noqa: PLR0913
    r: np.ndarray,
    block: int,
    a: np.ndarray,
    b: np.ndarray,
    penalty: np.ndarray,
    shift: np.ndarray,
    kexp: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One record's symbols as :func:`symbols.by_classes` writes them, for residuals ``r`` (cols, rows) in
    scan order: the scale class of every block (:func:`choose_classes_one`), the residuals stably sorted by
    their block's class as table indices and low bits (int32), each group's class and start, the escaped
    high parts in order, the first classes against ``kexp`` (cols,) and the class changes (int32)."""
    cols, rows = r.shape
    classes = choose_classes_one(block_costs(r, block, a, b), penalty)
    nb = classes.shape[1]
    first = np.empty(cols, np.int32)
    steps = np.empty(cols * (nb - 1), np.int32)
    for c in range(cols):
        first[c] = np.int32(classes[c, 0] + (CLASSES - 1) - kexp[c])
        for j in range(1, nb):
            steps[c * (nb - 1) + j - 1] = np.int32(classes[c, j] - classes[c, j - 1] + (CLASSES - 1))
    d = cols * rows
    counts = np.zeros(CLASSES, np.int64)
    for c in range(cols):
        for t in range(rows):
            counts[classes[c, t // block]] += 1
    starts = np.zeros(CLASSES, np.int64)
    groups = 0
    at = 0
    for h in range(CLASSES):
        starts[h] = at
        at += counts[h]
        if counts[h]:
            groups += 1
    group_k = np.empty(groups, np.int64)
    group_start = np.empty(groups, np.int64)
    g = 0
    for h in range(CLASSES):
        if counts[h]:
            group_k[g] = h
            group_start[g] = starts[h]
            g += 1
    idx = np.empty(d, np.int32)
    lo = np.empty(d, np.int32)
    his = np.empty(d, np.int64)
    big = np.zeros(d, np.bool_)
    fill = starts.copy()
    for c in range(cols):
        for t in range(rows):
            h = classes[c, t // block]
            pos = fill[h]
            fill[h] += 1
            s = shift[h]
            v = r[c, t]
            hi = v >> s
            his[pos] = hi
            if abs(hi) > RADIUS:
                big[pos] = True
                idx[pos] = ESCAPE
            else:
                idx[pos] = np.int32(hi + RADIUS)
            lo[pos] = np.int32(v & ((np.int64(1) << s) - 1))
    escapes = his[big]
    return idx, lo, group_k, group_start, escapes, first, steps
