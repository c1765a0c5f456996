"""Forward-adaptive scale contexts: each block of ``BLOCK`` residuals along a column gets a class.

The encoder picks, per block, the class with the lowest estimated cost, then smooths the choice so a class
change is only made when it saves more than it costs to signal. The class of the first block of a column
is coded against the class its training statistics predict; later ones against the previous block's.
Everything here runs vectorized over a batch; only the encoder calls it, so its float estimates never need
to agree with anything on the decoder side.
"""

from __future__ import annotations

import numpy as np

from compressor.bounded.tables import CLASSES, MU, class_cost_coefficients

__all__ = ["BLOCK", "block_sums", "choose_classes", "expected_class", "greedy_bits", "value_classes"]

#: residuals per context block along a column
BLOCK = 32
_SWITCH = 1.6  # bits per class step, roughly what the class-change table charges
_MU_MID = tuple(MU[k] * 1.189207115002721 for k in range(CLASSES - 1))  # sqrt of neighbours: exact literal


def expected_class(scale: np.ndarray, step: float | np.ndarray) -> np.ndarray:
    """Class whose MU is nearest to ``scale / step`` (scale in data units, ``step`` scalar or per column):
    comparisons of exact products."""
    scale = np.asarray(scale, dtype=np.float64)
    mids = np.asarray(_MU_MID, dtype=np.float64)[None, :] * np.asarray(step, dtype=np.float64).reshape(-1, 1)
    k = (mids < scale.reshape(-1, 1)).sum(axis=1)
    return np.where(np.isfinite(scale), k, CLASSES // 2).astype(np.int64)


def block_sums(r_scan: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of |r| per block of ``r_scan`` (N, cols, rows): sums (N, cols, nb) and block lengths (nb,)."""
    n, cols, rows = r_scan.shape
    nb = -(-rows // BLOCK)
    pad = nb * BLOCK - rows
    a = np.abs(r_scan)
    if pad:
        a = np.concatenate([a, np.zeros((n, cols, pad), a.dtype)], axis=2)
    sums = a.reshape(n, cols, nb, BLOCK).sum(axis=3).astype(np.float64)
    lengths = np.full(nb, BLOCK, dtype=np.float64)
    lengths[-1] = rows - (nb - 1) * BLOCK
    return sums, lengths


def greedy_bits(sums: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Estimated bits per record (N,) with the best class for every block, ignoring switching costs."""
    a, b, _ = class_cost_coefficients()
    cost = lengths[None, None, :, None] * a + sums[..., None] * b  # (N, cols, nb, K)
    return cost.min(axis=-1).sum(axis=(1, 2))


def choose_classes(sums: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best class per block (N, cols, nb) and the estimated bits per record (N,)."""
    a, b, _ = class_cost_coefficients()
    cost = lengths[None, None, :, None] * a + sums[..., None] * b  # (N, cols, nb, K)
    n, cols, nb, k = cost.shape
    if nb == 1:
        best = cost.argmin(axis=-1)
        return best.astype(np.int64), cost.min(axis=-1).sum(axis=(1, 2))
    # Viterbi over the blocks of each column; a class step costs ~1.6 bits, steps beyond 3 are not allowed.
    # Window position w holds class j - 3 + w as the predecessor of class j.
    flat = cost.reshape(n * cols, nb, k)
    acc = flat[:, 0, :].copy()
    back = np.empty((n * cols, nb, k), dtype=np.int8)
    padded = np.full((n * cols, k + 6), 1e30)
    penalty = _SWITCH * np.abs(np.arange(-3, 4, dtype=np.float64))
    step = padded.strides[1]
    window = np.lib.stride_tricks.as_strided(padded, (n * cols, k, 7), (padded.strides[0], step, step))
    cells = np.arange(n * cols * k) * 7
    for t in range(1, nb):
        padded[:, 3 : 3 + k] = acc  # window now sees it: (M, K, 7), a view of padded
        cand = window + penalty
        arg = cand.argmin(axis=2)
        back[:, t, :] = 3 - arg  # the class step d taken into class j: predecessor j - d
        acc = cand.ravel()[cells + arg.ravel()].reshape(n * cols, k) + flat[:, t, :]
    best = np.empty((n * cols, nb), dtype=np.int64)
    best[:, -1] = acc.argmin(axis=1)
    bits = acc.min(axis=1)
    rows = np.arange(n * cols)
    for t in range(nb - 1, 0, -1):
        best[:, t - 1] = best[:, t] - back[rows, t, best[:, t]]
    return best.reshape(n, cols, nb), bits.reshape(n, cols).sum(axis=1)


def value_classes(classes: np.ndarray, rows: int) -> np.ndarray:
    """Per-value class in scan order (column-major) from block classes ``(cols, nb)`` of one record."""
    return np.repeat(classes, BLOCK, axis=-1)[..., :rows].reshape(*classes.shape[:-2], -1)
