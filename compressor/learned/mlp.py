"""The learned predictor's integer MLP over many positions in one call, with the same integers everywhere.

The definition (:mod:`compressor.learned.kernel`): for column ``c``, hidden unit ``u`` sums
``h = b1[c, u] + sum_f x_f * w1[c, f, u]`` in int64 over features ``|x_f| <= CLIP``, then
``a = min(h >> hshift[c], H_CAP)`` where positive, and the output is ``b2[c] + sum_u a * w2[c, u]``.

Speed: the first layer is nearly all of the work (``N_FEAT * H`` multiply-adds per value), and 64-bit integer
multiplies do not vectorise on common x86 processors (AVX2 has none) while float64 ones do. Where every
partial sum of a column's hidden units is an integer of magnitude below ``2**53`` for any features within
``+-CLIP`` (:func:`float_exact`), float64 arithmetic holds each product and each partial sum exactly, in any
order and with or without fused multiply-adds: that column's hidden layer is computed in float64 and
converted back to the very integers of the definition. Other columns (weights so large that the guarantee
fails) use int64. Either way the result is the definition's, bit for bit, on any machine.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["EXACT_LIMIT", "float_exact", "mlp_rows"]

#: every integer of magnitude up to this is a float64
EXACT_LIMIT = 1 << 53


def float_exact(w1: np.ndarray, b1: np.ndarray, clip: int) -> np.ndarray:
    """(cols,) bool: whether float64 computes column ``c``'s hidden layer exactly for every feature vector
    within ``+-clip``: ``|b1[c, u]| + clip * sum_f |w1[c, f, u]| < 2**53`` for every unit ``u``
    (``w1`` (cols, F, H) int32, ``b1`` (cols, H) int64; the bound is computed in int64, without overflow
    for the weights' caps: ``|w1| <= 2**30``, ``|b1| <= 2**50``, ``clip <= 2**20``, ``F <= 64``)."""
    w = np.abs(w1.astype(np.int64)).sum(axis=1)  # (cols, H), <= 2**36
    worst = np.abs(b1.astype(np.int64)) + w * np.int64(clip)
    return (worst < EXACT_LIMIT).all(axis=1)


@njit(cache=True, fastmath={"contract"})
def mlp_rows(x, n, c, mlp, h_cap, hf, hi, y):  # noqa: PLR0913
    """``y[p] = b2[c] + sum_u min(h_u >> hshift[c], h_cap) * w2[c, u]`` over the positive terms, for the
    first ``n`` feature rows ``x[p]`` (int64, already within ``+-CLIP``) of column ``c``.

    ``mlp`` is ``(w1, b1, w2, b2, hshift, w1f, b1f, exact)``: the integer weights, the first layer again as
    float64 and per column whether float64 is exact for it (:func:`float_exact`). ``hf`` (float64) and
    ``hi`` (int64) are scratch of at least H entries."""
    w1, b1, w2, b2, hshift, w1f, b1f, exact = mlp
    hidden = w1.shape[2]
    nf = x.shape[1]
    sh = hshift[c]
    for p in range(n):
        if exact[c]:
            for u in range(hidden):
                hf[u] = b1f[c, u]
            for f in range(nf):
                xv = np.float64(x[p, f])
                if xv != 0.0:
                    for u in range(hidden):
                        hf[u] += xv * w1f[c, f, u]
            for u in range(hidden):
                hi[u] = np.int64(hf[u])
        else:
            for u in range(hidden):
                hi[u] = b1[c, u]
            for f in range(nf):
                xi = np.int64(np.int32(x[p, f]))
                for u in range(hidden):
                    hi[u] += xi * np.int64(w1[c, f, u])
        acc = b2[c]
        for u in range(hidden):
            a = hi[u] >> sh  # to units of 2**-8, floor
            if a > 0:
                acc += min(a, h_cap) * np.int64(w2[c, u])
        y[p] = acc
