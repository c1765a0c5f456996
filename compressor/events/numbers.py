"""Columns of numbers: to integers (on the bound's grid, or as exact decimals) and predicted residuals.

A lossy column puts each value on the grid of step ``2E`` with :func:`compressor.bounded.grid.quantize`
and is rebuilt as the shortest text of the float32 ``q * 2E``; a value whose rebuilt text misses the bound
is not a grid value and the caller carries it as a token. A lossless column keeps each plain decimal as
``(mantissa, decimals)`` and rebuilds its exact text.

An integer column is sent as residuals of one predictor, chosen per window by estimated cost:
``x - base`` for a base of the field's training center or the events' record timestamps, then no
difference, a first difference, a second difference, or (arrays) the difference to the same position of
the previous event.
"""

from __future__ import annotations

import numpy as np

from compressor.bounded.grid import lattice_steps, quantize, rebuild
from compressor.bounded.tables import uniform_model
from compressor.events.entropy import Reader, Tape, ints_cost
from compressor.events.jsontext import Num, join_decimal, split_decimal

__all__ = ["decode_column", "encode_column", "lossless_ints", "lossless_texts", "lossy_ints", "lossy_texts"]

_ORDERS = 4  # none, first difference, second difference, lag
_LIMIT = 1 << 52


def lossy_step(bound: float, integer: bool) -> float:
    """The grid step: ``2E``, or for integer fields the odd integer ``2 floor(E) + 1`` (values stay integers)."""
    return float(lattice_steps(bound, np.asarray([1.0]))[0]) if integer else 2.0 * bound


def lossy_ints(texts: list[str], bound: float, integer: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Grid integers of the values and a mask of the ones whose rebuilt text is within the bound."""
    x = np.asarray([float(t) for t in texts], dtype=np.float64)
    step = lossy_step(bound, integer)
    q, raw = quantize(x, bound, step)
    back = np.asarray([float(t) for t in lossy_texts(q, bound, integer)], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = ~raw & (np.abs(back - x) <= bound)
    if integer:
        ok &= np.asarray([split_decimal(t) is not None and "." not in t for t in texts], dtype=bool)
    return q, ok


def lossy_texts(q: np.ndarray, bound: float, integer: bool = False) -> list[Num]:
    """The text of each rebuilt value: for integer fields the integer ``q * step``, else the shortest
    decimal that reads back as the float32 ``q * 2E``."""
    if integer:
        step = int(lossy_step(bound, True))
        return [Num(str(int(v) * step)) for v in q]
    return [Num(repr(float(str(v)))) for v in rebuild(q, 2.0 * bound)]


def lossless_ints(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mantissas, decimals and a mask of the texts that are plain decimals (others: zeros)."""
    pairs = [split_decimal(t) for t in texts]
    ok = np.asarray([p is not None and abs(p[0]) < _LIMIT for p in pairs], dtype=bool)
    m = np.asarray([p[0] if good else 0 for p, good in zip(pairs, ok, strict=True)], dtype=np.int64)
    d = np.asarray([p[1] if good else 0 for p, good in zip(pairs, ok, strict=True)], dtype=np.int64)
    return m, d, ok


def lossless_texts(mantissas: np.ndarray, decimals: np.ndarray) -> list[Num]:
    return [Num(join_decimal(int(m), int(d))) for m, d in zip(mantissas, decimals, strict=True)]


def _residuals(y: np.ndarray, order: int, lag: int) -> np.ndarray:
    if order == 0 or len(y) < 2:
        return y.copy()
    r = np.empty_like(y)
    r[0] = y[0]
    r[1:] = np.diff(y)
    if order == 2:
        r[2:] = np.diff(r[1:])
    elif order == 3:
        r[lag:] = y[lag:] - y[:-lag]
    return r


def _integrate(r: np.ndarray, order: int, lag: int) -> np.ndarray:
    if order == 0 or len(r) < 2:
        return r.copy()
    if order == 1:
        return np.cumsum(r)
    if order == 2:
        d = r.copy()
        d[1:] = np.cumsum(r[1:])
        return np.cumsum(d)
    y = np.empty_like(r)
    head = min(lag, len(r))
    y[:head] = np.cumsum(r[:head])
    for start in range(lag, len(r), lag):
        stop = min(start + lag, len(r))
        y[start:stop] = r[start:stop] + y[start - lag : stop - lag]
    return y


def encode_column(tape: Tape, x: np.ndarray, bases: list[np.ndarray], lag: int = 1) -> None:
    """Code integers ``x`` as the cheapest predictor's residuals (predictor id first, uniform)."""
    best = None
    for b, base in enumerate(bases):
        with np.errstate(over="ignore"):
            y = x - base
        if len(y) and np.abs(y).max() >= _LIMIT:
            continue
        for order in range(_ORDERS):
            if order == 3 and not 1 < lag < len(y) or order and order >= len(y):
                continue  # a lag beyond the column, or a difference of a too short column (same residuals)
            r = _residuals(y, order, lag)
            cost = ints_cost(r)
            if best is None or cost < best[0]:
                best = (cost, b * _ORDERS + order, r)
    if best is None:
        raise ValueError("integers too large for any predictor")
    tape.symbol(best[1], uniform_model(_ORDERS * len(bases)))
    tape.ints(best[2])


def decode_column(reader: Reader, n: int, bases: list[np.ndarray], lag: int = 1) -> np.ndarray:
    pred = reader.symbol(uniform_model(_ORDERS * len(bases)))
    b, order = divmod(pred, _ORDERS)
    return _integrate(reader.ints(n), order, lag) + bases[b]
