"""The symbols of each record, grouped the way its ANS stream writes them (:class:`payload.Prepared`).

Vectorized over a batch, for the residuals the encoder chose. Two codings:

* :func:`by_classes`: the scale class of the first block of every column (against its expected class),
  the class changes between blocks, then the residuals grouped by class, ascending: their high parts
  ``r >> shift[k]`` (escape past the table's radius) and low bits.
* :func:`by_table` (kind 2 only): every residual one symbol of the model's fitted table, in scan order.

A record with raw values also carries their positions and float32 bits.
"""

from __future__ import annotations

import numpy as np

from compressor.bounded import context, payload
from compressor.bounded.parameters import BoundedParameters
from compressor.bounded.tables import CLASSES, ESCAPE, RADIUS, SHIFT

__all__ = ["by_classes", "by_table"]


def by_classes(  # noqa: PLR0913
    params: BoundedParameters,
    code: int,
    lattice: bool,
    pred: np.ndarray,
    has_raw: np.ndarray,
    classes: np.ndarray,
    r: np.ndarray,
    raw_flat: np.ndarray,
    x: np.ndarray,
) -> list[payload.Prepared]:
    """Records coded with scale classes: every record's symbols grouped by class."""
    n = len(pred)
    # (N, D) scan order; as int8 (classes < 64), whose stable sort is a radix sort: a quarter less time
    vclass = context.value_classes(classes.astype(np.int8), params.rows)
    order = np.argsort(vclass, axis=1, kind="stable")
    vs = np.sort(vclass, axis=1)
    rs = r[np.arange(n)[:, None], order]
    shift = np.asarray(SHIFT, dtype=np.int64)[vs]
    hi = rs >> shift
    big = np.abs(hi) > RADIUS
    idx = np.where(big, ESCAPE, hi + RADIUS).astype(np.int32)
    lo = (rs & ((np.int64(1) << shift) - 1)).astype(np.int32)
    # class boundaries in each record's sorted order: where the sorted class changes
    change = np.ones((n, vs.shape[1]), dtype=bool)
    change[:, 1:] = vs[:, 1:] != vs[:, :-1]
    rec_i, start = np.nonzero(change)
    group_k = vs[rec_i, start].tolist()
    bounds = np.searchsorted(rec_i, np.arange(n + 1)).tolist()
    start = start.tolist()
    kexp = params.expected_classes_all(code, lattice)
    first = (classes[:, :, 0] + (CLASSES - 1) - kexp[pred]).astype(np.int32)
    steps = (np.diff(classes, axis=2) + (CLASSES - 1)).astype(np.int32).reshape(n, -1)
    any_big = big.any(axis=1).tolist()
    modes = (2 * pred + has_raw).tolist()
    raw_any = has_raw.tolist()
    bits = x.view(np.uint32)
    width = vs.shape[1]
    out = []
    for i in range(n):
        g0, g1 = bounds[i], bounds[i + 1]
        idx_i, lo_i = idx[i], lo[i]
        groups = []
        for g in range(g0, g1):
            k = group_k[g]
            a = start[g]
            e = start[g + 1] if g + 1 < g1 else width
            groups.append((k, idx_i[a:e], lo_i[a:e] if SHIFT[k] else None))
        rec = payload.Prepared(
            code, modes[i], first[i], steps[i], groups, hi[i][big[i]].tolist() if any_big[i] else []
        )
        out.append(_with_raw(rec, raw_flat[i], bits[i]) if raw_any[i] else rec)
    return out


def by_table(
    params: BoundedParameters,
    code: int,
    slot: np.ndarray,
    has_raw: np.ndarray,
    r: np.ndarray,
    raw_flat: np.ndarray,
    x: np.ndarray,
) -> list[payload.Prepared]:
    """Records coded with a fitted table: every residual one symbol of it, in scan order."""
    big = np.abs(r) > RADIUS
    idx = np.where(big, ESCAPE, r + RADIUS).astype(np.int32)
    bits = x.view(np.uint32)
    empty = np.zeros(0, np.int32)
    out = []
    for i in range(len(slot)):
        p = int(slot[i]) - len(params.predictors)
        rec = payload.Prepared(
            code,
            2 * int(slot[i]) + int(has_raw[i]),
            empty,
            empty,
            [(-1, idx[i], None)],
            r[i][big[i]].tolist() if big[i].any() else [],
            table=params.table(code, p),
        )
        out.append(_with_raw(rec, raw_flat[i], bits[i]) if has_raw[i] else rec)
    return out


def _with_raw(rec: payload.Prepared, raw: np.ndarray, bits: np.ndarray) -> payload.Prepared:
    """``rec`` with the positions and float32 bits of its raw values (``raw``: the record's mask)."""
    pos = np.flatnonzero(raw)
    rec.raw_positions = pos
    rec.raw_bits = bits[pos]
    return rec
