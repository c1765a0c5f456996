"""Columns of numbers: to integers (on the bound's grid, or as exact decimals) and predicted residuals.

A lossy column puts each value on the grid of step ``2E`` with :func:`compressor.bounded.grid.quantize`
and is rebuilt as the shortest text of the float32 ``q * 2E``; a value whose rebuilt text misses the bound
is not a grid value and the caller carries it as a token. A lossless column keeps each plain decimal as
``(mantissa, decimals)`` and rebuilds its exact text.

An integer column is sent as residuals of one predictor, chosen per window by estimated cost:
``x - base`` for a base of the field's training center or the events' record timestamps (or the clock
field's values), then no difference, a first difference, a second difference, (arrays) the difference to
the same position of the previous event, or the distance to a line fitted by least squares (its
intercept and its slope in 1/256 steps are sent): timestamps of a steady clock cost only their jitter.

A small column (an event alone, a window of a few events) has no room for per-window choices: it is sent
with a :class:`Prior` learned at training (the predictor that fitted the training events, and the mean
size of its residuals, which fixes the scale class), so no predictor or class symbol is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compressor.bounded.grid import lattice_steps, quantize, rebuild
from compressor.bounded.tables import class_cost_coefficients, uniform_model
from compressor.errors import EnvelopeError
from compressor.events.entropy import Reader, Tape, ints_cost
from compressor.events.jsontext import Num, join_decimal, split_decimal

__all__ = [
    "Prior",
    "align",
    "center_on",
    "column_cost",
    "unalign",
    "decode_column",
    "encode_column",
    "fit_prior",
    "lossless_ints",
    "lossless_texts",
    "lossy_ints",
    "lossy_texts",
]

_ORDERS = 5  # none, first difference, second difference, lag, line
_LINE = 4
_LIMIT = 1 << 52


@dataclass(frozen=True)
class Prior:
    """The predictor a small column is sent with, learned at training.

    Parameters:
        base (int): index of the base (see :func:`encode_column`).
        order (int): 0 none, 1 first difference, 2 second difference, 3 lag (4, a line, is never a prior).
        scale (float): mean absolute residual, in the column's integer units (the caller rescales a lossy
            field's value units to its grid).
    """

    base: int
    order: int
    scale: float

    def scale_class(self) -> int:
        """The scale class whose tables fit residuals of this mean size."""
        a, b, _ = class_cost_coefficients()
        return int(np.argmin(a + b * max(0.0, float(self.scale))))


def fit_prior(columns: list[list[np.ndarray]], lag: int) -> Prior:
    """The base and order with the smallest mean absolute residual over training columns (one list of
    columns ``x - base`` per base; each column one event's values)."""
    best = None
    for b, per_base in enumerate(columns):
        for order in range(3 if lag <= 1 else 4):
            count = total = 0.0
            for y in per_base:
                if len(y):
                    total += float(np.abs(_residuals(np.asarray(y, np.float64), order, lag)).sum())
                    count += len(y)
            if count and (best is None or total / count < best[2] - 1e-12):
                best = (b, order, total / count)
    return Prior(0, 0, 0.0) if best is None else Prior(*best)


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


def align(mantissas: np.ndarray, decimals: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The mantissas on the column's finest decimal scale (``m * 10**(top - d)``) and ``top``, so that
    ``73.9673221`` and ``73.96732207`` differ by 1 and not by 6.6e9; None when a value would not fit."""
    if not len(mantissas):
        return mantissas.copy(), 0
    top = int(decimals.max())
    shift = top - decimals
    if int(shift.max()) > 15:
        return None
    factor = 10 ** shift.astype(np.int64)
    if (np.abs(mantissas) >= _LIMIT // factor).any():
        return None
    return mantissas * factor, top


def unalign(aligned: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """The mantissas back from :func:`align` (exact: each is a multiple of its factor)."""
    if not len(aligned):
        return aligned.copy()
    shift = int(decimals.max()) - decimals
    if (shift > 15).any():
        raise EnvelopeError("event payload aligns numbers over too many decimals")
    factor = 10 ** shift.astype(np.int64)
    if (aligned % factor != 0).any():
        raise EnvelopeError("event payload holds an aligned number off its scale")
    return aligned // factor


def center_on(center: float, top: int) -> int:
    """The field's center on the decimal scale ``10**-top`` (0 when it does not fit)."""
    value = round(center * 10.0**top) if top <= 18 else 0
    return int(value) if abs(value) < _LIMIT else 0


def lossless_texts(mantissas: np.ndarray, decimals: np.ndarray) -> list[Num]:
    return [Num(join_decimal(int(m), int(d))) for m, d in zip(mantissas, decimals, strict=True)]


_SLOPE_BITS = 8


def _fit_line(y: np.ndarray) -> tuple[int, int]:
    """Least-squares intercept (an integer) and slope (in 1/256 steps) of ``y`` over ``0 .. n-1``."""
    i = np.arange(len(y), dtype=np.float64)
    slope = float(np.polyfit(i, y.astype(np.float64), 1)[0]) if len(y) > 1 else 0.0
    slope_fp = int(round(slope * (1 << _SLOPE_BITS)))
    intercept = int(round(float(np.mean(y.astype(np.float64) - i * slope_fp / (1 << _SLOPE_BITS)))))
    return intercept, slope_fp


def _line(n: int, line: tuple[int, int]) -> np.ndarray:
    return line[0] + ((line[1] * np.arange(n, dtype=np.int64)) >> _SLOPE_BITS)


def _residuals(y: np.ndarray, order: int, lag: int, line: tuple[int, int] = (0, 0)) -> np.ndarray:
    if order == _LINE:
        return y - _line(len(y), line)
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


def _integrate(r: np.ndarray, order: int, lag: int, line: tuple[int, int] = (0, 0)) -> np.ndarray:
    if order == _LINE:
        return r + _line(len(r), line)
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


def _best(x: np.ndarray, bases: list[np.ndarray], lag: int) -> tuple[float, int, np.ndarray, tuple] | None:
    """The cheapest predictor: (estimated bits, predictor id, residuals, line), None when none fits."""
    best = None
    for b, base in enumerate(bases):
        with np.errstate(over="ignore"):
            y = x - base
        if len(y) and np.abs(y).max() >= _LIMIT:
            continue
        for order in range(_ORDERS):
            if not _usable(order, len(y), lag):
                continue
            line = _fit_line(y) if order == _LINE else (0, 0)
            if max(abs(line[0]), abs(line[1])) >= _LIMIT:
                continue
            r = _residuals(y, order, lag, line)
            if len(r) and np.abs(r).max() >= _LIMIT:
                continue
            cost = ints_cost(r) + (sum(_uint_bits(_zigzag(v)) for v in line) if order == _LINE else 0)
            if best is None or cost < best[0]:
                best = (cost, b * _ORDERS + order, r, line)
    return best


def column_cost(x: np.ndarray, bases: list[np.ndarray], lag: int = 1, prior: Prior | None = None) -> float:
    """Estimated bits of :func:`encode_column` (infinite when the integers fit no predictor)."""
    if prior is not None:
        with np.errstate(over="ignore"):
            r = _residuals(x - bases[prior.base], prior.order, lag)
        return ints_cost(r) if not len(r) or np.abs(r).max() < _LIMIT else float("inf")
    best = _best(x, bases, lag)
    return float("inf") if best is None else best[0]


def encode_column(
    tape: Tape, x: np.ndarray, bases: list[np.ndarray], lag: int = 1, prior: Prior | None = None
) -> None:
    """Code integers ``x`` as the cheapest predictor's residuals (predictor id first, uniform; a line's
    intercept and slope follow as zigzag uints). With a ``prior``: its predictor and scale class, nothing
    chosen."""
    if prior is not None:
        tape.ints(_residuals(x - bases[prior.base], prior.order, lag), prior.scale_class())
        return
    best = _best(x, bases, lag)
    if best is None:
        raise ValueError("integers too large for any predictor")
    tape.symbol(best[1], uniform_model(_ORDERS * len(bases)))
    if best[1] % _ORDERS == _LINE:
        tape.uint(_zigzag(best[3][0]))
        tape.uint(_zigzag(best[3][1]))
    tape.ints(best[2])


def decode_column(
    reader: Reader, n: int, bases: list[np.ndarray], lag: int = 1, prior: Prior | None = None
) -> np.ndarray:
    if prior is not None:
        return _integrate(reader.ints(n, prior.scale_class()), prior.order, lag) + bases[prior.base]
    pred = reader.symbol(uniform_model(_ORDERS * len(bases)))
    b, order = divmod(pred, _ORDERS)
    line = (_unzigzag(reader.uint()), _unzigzag(reader.uint())) if order == _LINE else (0, 0)
    if max(abs(line[0]), abs(line[1])) >= _LIMIT:
        raise EnvelopeError("event payload holds an impossible line")
    return _integrate(reader.ints(n), order, lag, line) + bases[b]


def _usable(order: int, n: int, lag: int) -> bool:
    """False for a lag beyond the column, a difference of a too short column (same residuals as none) and
    a line through fewer than 5 values."""
    if order == 3:
        return 1 < lag < n
    return order == 0 or order < n and (order != _LINE or n > 4)


def _zigzag(v: int) -> int:
    return 2 * v if v >= 0 else -2 * v - 1


def _unzigzag(u: int) -> int:
    return u // 2 if u % 2 == 0 else -(u + 1) // 2


def _uint_bits(u: int) -> int:
    return 6 + max(0, int(u).bit_length() - 1)
