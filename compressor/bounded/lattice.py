"""The data's own quantum: the spacing of the values a sensor or a text file can hold.

Most real streams are quantized before they reach us: an ADC gives integers, a CSV holds a fixed number of
decimals, a counter counts. When the error bound is close to or below that spacing, a grid of ``2E`` no
longer lines up with the values and wastes bits on every one of them. The training statistics keep, per
column of the record layout, the coarsest spacing ``u`` that the training values sit on (a power of ten
times the greatest common divisor of the resulting integers), and the codec can then code on multiples of
``u`` (see :func:`compressor.bounded.grid.lattice_steps`).

Detection is cautious: a column needs :data:`MIN_DISTINCT` distinct finite values (columns with fewer
borrow the quantum found over the whole record), at most :data:`MAX_MISFIT` of its nonzero values may lie
off the lattice, and the lattice must be coarser than float32 resolution at the column's magnitude. None of this
has to agree with the consumer: the quantum travels in the bundle, and the producer checks every value it
codes on the lattice (a record whose values leave the lattice is coded on the plain grid instead).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MAX_MISFIT", "MIN_DISTINCT", "column_quanta", "detect_quantum"]

#: fewer distinct values than this say too little about a column's spacing
MIN_DISTINCT = 8
#: fraction of values allowed off the lattice (a patched or interpolated reading)
MAX_MISFIT = 1e-3
#: decimal exponents tried, coarse to fine: 10**6 .. 10**-9
_EXPONENTS = range(6, -10, -1)
#: a lattice finer than this many float32 ulps of the largest magnitude is float noise, not a quantum
_MIN_ULPS = 32
_SAMPLE = 1 << 20


def detect_quantum(values: np.ndarray) -> float | None:
    """The coarsest spacing ``u`` that (nearly) all finite ``values`` are integer multiples of, or None."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    x = x[np.isfinite(x) & (x != 0)][:_SAMPLE]  # zero sits on every lattice: it says nothing
    if x.size == 0 or np.unique(x).size < MIN_DISTINCT:
        return None
    top = float(np.abs(x).max())
    floor = top * 2.0**-23 * _MIN_ULPS
    tolerance = np.abs(x) * 2.0**-22
    allowed = int(MAX_MISFIT * x.size)
    for exponent in _EXPONENTS:
        unit = 10.0**exponent
        if unit <= floor:
            return None
        n = np.rint(x / unit)
        fits = np.abs(x - n * unit) <= tolerance
        if x.size - int(fits.sum()) > allowed:
            continue
        ints = np.abs(n[fits])
        if ints.size == 0 or ints.max() >= 2.0**62:
            return None
        divisor = int(np.gcd.reduce(ints.astype(np.int64)))
        quantum = unit * max(divisor, 1)
        return quantum if math.isfinite(quantum) and quantum > floor else None
    return None


def column_quanta(x: np.ndarray) -> list[float | None]:
    """Per column of finite records ``x`` (N, rows, cols): its quantum, or the whole record's when the
    column holds too few distinct values to tell (image borders, flags)."""
    cols = x.shape[2]
    pooled: float | None = None
    pooled_done = False
    out: list[float | None] = []
    for c in range(cols):
        column = x[:, :, c]
        if np.unique(column).size >= MIN_DISTINCT:
            out.append(detect_quantum(column))
            continue
        if not pooled_done:
            pooled, pooled_done = detect_quantum(x), True
        out.append(pooled)
    return out
