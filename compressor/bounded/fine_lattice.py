"""A finer structure inside the data's quantum: values converted from sensor counts, then rounded.

Many sensors give integer counts that a driver multiplies by a calibration constant and rounds to a few
decimals (or to whole units). The values then sit on multiples of the decimal quantum ``u`` found by
:mod:`compressor.bounded.lattice`, but only on some of them: the grid integers ``q = x / u`` advance by
``c`` on average per count, with ``c`` not an integer (66.9 for a column stored to 3 decimals at 0.0669
units per count). Coding ``q`` wastes about ``log2(c)`` bits on every value; coding the count does not.

A column's fine lattice is three integers ``(p, r, off)`` with ``0 < r <= MAX_DENOMINATOR``, ``r < p``, and a
flag ``mirror``: the grid integer of count ``k`` is ``floor((k p + off) / r)``, pure integer arithmetic, so
every machine rebuilds the same ``q`` from the same ``k``. Going the other way, ``k = ceil((q r - off) / p)``
is the only count that can rebuild ``q`` (``p > r``, so one ``q`` holds at most one count); ``q`` is on the
fine lattice when it does. A mirrored lattice (counts converted with truncation toward zero, so negative
values mirror the positive ones) rebuilds ``-floor((-k p + off) / r)`` for negative ``k``.

Detection (:func:`detect_fine`) works on a column's distinct grid integers (their magnitudes, for a mirrored
lattice, tried when the plain one fails): it estimates the step ``c`` from
their spacings, numbers them with counts, tries the fractions ``p / r`` near ``c`` and keeps the one whose
best offset puts the most of the column's values on the lattice, at least :data:`MIN_FIT` of them. Data
that takes only some of its counts (most distinct values two counts apart) gets a second estimate from the
smallest spacings alone. When the spacings tell no step (values spread thinly over a wide range, so
neighbouring distinct values are many counts apart), it tries whole steps ``p`` (``r = 1``): the largest ``p`` up to
:data:`MAX_WHOLE_STEP` whose most common residue ``q mod p`` holds the same shares of the values (the "wasted
bits" of FLAC, pcodec's common divisor, with room for the rare value a driver wrote at full resolution,
which then travels raw). None of this has to agree with the consumer: ``(p, r, off)`` travel in the bundle, and the
producer checks each record before coding its counts.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "MAX_DENOMINATOR",
    "MAX_NUMERATOR",
    "MAX_WHOLE_STEP",
    "MIN_FIT",
    "MIN_FIT_WHOLE",
    "detect_fine",
    "from_counts",
    "min_fit",
    "to_counts",
    "valid",
]

#: the largest denominator tried: calibration constants are fitted to this many parts per count
MAX_DENOMINATOR = 1000
#: a step of more than this many quanta per count is not kept (keeps ``k p`` far inside int64)
MAX_NUMERATOR = 1 << 20
#: the fraction of a column's values that must sit on the fine lattice
MIN_FIT = 0.999
#: a step below this many quanta per count saves under a bit per value and is too fine to number reliably
MIN_STEP = 2.0
#: the fraction of a column's distinct values that must sit on it (a few frequent values prove nothing)
MIN_FIT_DISTINCT = 0.95
#: fewer distinct values than this say too little about the spacing
MIN_DISTINCT = 16
#: the largest whole step (quanta per count) tried when the spacings tell none
MAX_WHOLE_STEP = 1024
#: the fraction of a column's values that must sit on a whole step: looser than :data:`MIN_FIT`, since no
#: counts are guessed (a value off it travels raw, 32 bits against the log2(p) each value saves)
MIN_FIT_WHOLE = 0.99
_PRIMES = [p for p in range(2, MAX_WHOLE_STEP + 1) if all(p % d for d in range(2, math.isqrt(p) + 1))]
#: a gap of more than this many steps ends a run of values numbered together
_RUN_GAP = 4.0


def min_fit(r: int) -> float:
    """The share of values a lattice of denominator ``r`` must hold: :data:`MIN_FIT_WHOLE` for a whole
    step, else :data:`MIN_FIT`."""
    return MIN_FIT_WHOLE if r == 1 else MIN_FIT


def valid(spec: object) -> bool:
    """Whether ``spec`` is a usable ``[p, r, off, mirror]`` (JSON integers and a boolean)."""
    if not isinstance(spec, list | tuple) or len(spec) != 4:
        return False
    p, r, off, mirror = spec
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (p, r, off))
    return (
        ints
        and isinstance(mirror, bool)
        and 0 < r <= MAX_DENOMINATOR
        and r < p <= MAX_NUMERATOR
        and 0 <= off < p
    )


def to_counts(
    q: np.ndarray, p: np.ndarray, r: np.ndarray, off: np.ndarray, mirror: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counts ``k`` (int64) of grid integers ``q`` and whether each rebuilds ``q`` exactly (the lattice
    parameters scalars or one per value of ``q``'s last axis; ``p = r = 1, off = 0`` is the identity)."""
    q = np.asarray(q, dtype=np.int64)
    if q.size == 0:
        return q.copy(), np.ones(q.shape, dtype=bool)
    rows = _per_column(q, p, r, off, mirror)
    k, exact = np.empty_like(rows[0]), np.empty(rows[0].shape, dtype=bool)
    _to_counts_rows(*rows, k, exact)
    return k.reshape(q.shape), exact.reshape(q.shape)


def from_counts(
    k: np.ndarray, p: np.ndarray, r: np.ndarray, off: np.ndarray, mirror: np.ndarray
) -> np.ndarray:
    """Grid integers ``floor((k p + off) / r)`` of counts ``k`` (int64; the caller bounds ``|k|``), or on a
    mirrored lattice ``-floor((-k p + off) / r)`` for negative ``k``."""
    k = np.asarray(k, dtype=np.int64)
    if k.size == 0:
        return k.copy()
    rows = _per_column(k, p, r, off, mirror)
    q = np.empty_like(rows[0])
    _from_counts_rows(*rows, q)
    return q.reshape(k.shape)


def _per_column(
    v: np.ndarray, p: np.ndarray, r: np.ndarray, off: np.ndarray, mirror: np.ndarray
) -> tuple[np.ndarray, ...]:
    """``v`` as rows of its last axis and the parameters as one value per column of it (scalars, or one per
    value of that axis), for the compiled loops."""
    d = v.shape[-1] if v.ndim else 1
    params = [np.broadcast_to(np.asarray(a), (d,)) for a in (p, r, off, mirror)]
    return (
        np.ascontiguousarray(v.reshape(-1, d)),
        *(np.ascontiguousarray(a, dtype=np.int64) for a in params[:3]),
        np.ascontiguousarray(params[3], dtype=np.bool_),
    )


@njit(cache=True, inline="always")
def _from_count(k, p, r, off, mirror):  # noqa: ANN001, ANN202
    if mirror and k < 0:
        return -((-k * p + off) // r)
    return (k * p + off) // r


@njit(cache=True)
def _from_counts_rows(k, p, r, off, mirror, q):  # noqa: ANN001, ANN202
    """:func:`from_counts` of ``k`` (N, D) into ``q``, one parameter set per column: the same integers
    (Python's floor division, as NumPy's), without NumPy's temporaries (counts are on every kind-7 value)."""
    for i in range(k.shape[0]):
        for j in range(k.shape[1]):
            q[i, j] = _from_count(k[i, j], p[j], r[j], off[j], mirror[j])


@njit(cache=True)
def _to_counts_rows(q, p, r, off, mirror, k, exact):  # noqa: ANN001, ANN202, PLR0913
    """:func:`to_counts` of ``q`` (N, D) into ``k`` and ``exact``, one parameter set per column."""
    for i in range(q.shape[0]):
        for j in range(q.shape[1]):
            v = q[i, j]
            flip = mirror[j] and v < 0
            a = -v if flip else v
            c = -((off[j] - a * r[j]) // p[j])
            c = -c if flip else c
            k[i, j] = c
            exact[i, j] = _from_count(c, p[j], r[j], off[j], mirror[j]) == v


def detect_fine(q: np.ndarray) -> tuple[int, int, int, bool] | None:
    """The fine lattice ``(p, r, off, mirror)`` that the most of the grid integers ``q`` sit on, at least
    :data:`MIN_FIT` of them (and :data:`MIN_FIT_DISTINCT` of their distinct values), or None (too few distinct values, a step
    under :data:`MIN_STEP`, or no fraction fits)."""
    q = np.asarray(q, dtype=np.int64).reshape(-1)
    if q.size == 0:
        return None
    found = _detect(q)
    if found is None and (q < 0).any() and (q > 0).any():
        # counts converted with truncation toward zero: the negative half mirrors the positive one
        found = _detect(np.abs(q))
        return None if found is None else (*found, True)
    return None if found is None else (*found, False)


def _detect(q: np.ndarray) -> tuple[int, int, int] | None:
    """:func:`detect_fine` without mirroring."""
    values, weights = np.unique(q, return_counts=True)
    if values.size < MIN_DISTINCT:
        return None
    needed_distinct = math.ceil(MIN_FIT_DISTINCT * values.size)
    needed = math.ceil(MIN_FIT * q.size)
    tried: list[float] = []
    # the typical spacing first; then the smallest spacings alone, for data that takes only some of its
    # counts (NAB occupancy_6005: percent of 1/18 rounded to hundredths, the odd counts and a few even
    # ones taken, so the median spacing is two counts)
    for typical in (True, False):
        step = _step_estimate(values, typical)
        if step is None or any(abs(step - t) < 0.01 * t for t in tried):
            continue
        tried.append(step)
        found = _best_fraction(values, weights, step, needed, needed_distinct)
        if found is not None:
            return found
    return _whole_step(values, weights, math.ceil(MIN_FIT_WHOLE * q.size), needed_distinct)


def _best_fraction(
    values: np.ndarray, weights: np.ndarray, step: float, needed: int, needed_distinct: int
) -> tuple[int, int, int] | None:
    """The lattice ``(p, r, off)`` with ``p / r`` near ``step`` that puts the most of the distinct grid
    integers ``values`` (weighted by occurrences) on it, at least ``needed`` of them and
    ``needed_distinct`` distinct ones, the smallest denominator among equals; or None."""
    # the fraction that puts the most values on the lattice: the first one that fits enough of them can
    # still miss a constant known to more digits, and its error grows with the count (ETTh1's first load
    # column: 3349/50 fits 99.9 % of the values it was found on, 99.5 % of the later ones; 20027/299 fits
    # all of both)
    best: tuple[int, int, int, int] | None = None
    total = int(weights.sum())
    for r in range(1, MAX_DENOMINATOR + 1):
        p = round(step * r)
        if p <= r or p > MAX_NUMERATOR:
            continue
        off, fits, fits_distinct = _best_offset(values, weights, p, r)
        if fits >= needed and fits_distinct >= needed_distinct and (best is None or fits > best[0]):
            best = (fits, p, r, off)
            if fits == total:
                break
    return None if best is None else best[1:]


def _whole_step(
    values: np.ndarray, weights: np.ndarray, needed: int, needed_distinct: int
) -> tuple[int, int, int] | None:
    """The largest whole step ``(p, 1, off)`` whose residue ``off`` holds ``needed`` of the values (weighted
    by occurrences) and ``needed_distinct`` of the distinct ``values``, or None. A step that fits makes
    each of its divisors fit too, so the primes that fit say which steps to try: the largest one built of
    them alone is the one that saves the most."""

    def fit(p: int) -> int | None:
        residues = values % p
        counts = np.bincount(residues, weights, minlength=p)
        off = int(np.argmax(counts))
        ok = counts[off] >= needed and int(np.count_nonzero(residues == off)) >= needed_distinct
        return off if ok else None

    # a prime the distinct values mostly share one residue of (on an even spread of at most 4096 of them,
    # a cheap first look), then confirmed on every value
    spread = values[:: max(1, values.size // 4096)]
    shared = [p for p in _PRIMES if np.bincount(spread % p, minlength=p).max() >= 0.9 * spread.size]
    fitting = [p for p in shared if fit(p) is not None]
    if not fitting:
        return None
    for p in range(MAX_WHOLE_STEP, 1, -1):
        rest = p
        for f in fitting:
            while rest % f == 0:
                rest //= f
        off = fit(p) if rest == 1 else None
        if off is not None:
            return p, 1, off
    return None


def _step_estimate(values: np.ndarray, typical: bool = True) -> float | None:
    """The spacing of consecutive counts, from the sorted distinct grid integers ``values``: the slope of
    a line through (count, value) within each run of close values (a long gap may hide a miscounted
    number of counts, so runs are numbered apart and share only the slope). The first guess of one count
    is the gaps below 1.5 times the median gap (``typical``) or below 1.5 times the smallest tenth of
    them."""
    gaps = np.diff(values).astype(np.float64)
    if gaps.size == 0:
        return None
    base = np.median(gaps) if typical else np.quantile(gaps, 0.1)
    small = gaps[gaps < 1.5 * base]  # neighbours: gaps of one count (larger ones skip counts)
    if small.size == 0:
        return None
    step = float(small.mean())
    for _ in range(3):
        if not math.isfinite(step) or step < MIN_STEP:
            return None
        run = np.concatenate([[0], np.cumsum(gaps > _RUN_GAP * step)])
        counts = np.concatenate([[0.0], np.cumsum(np.rint(gaps / step))])
        v = values.astype(np.float64)
        runs = run[-1] + 1
        sizes = np.bincount(run, minlength=runs)
        dc = counts - (np.bincount(run, counts, runs) / sizes)[run]
        dv = v - (np.bincount(run, v, runs) / sizes)[run]
        spread = float((dc * dc).sum())
        if spread <= 0:
            return None
        step = float((dc * dv).sum()) / spread
    return step if math.isfinite(step) and step >= MIN_STEP else None


def _best_offset(values: np.ndarray, weights: np.ndarray, p: int, r: int) -> tuple[int, int, int]:
    """The offset (in ``[0, p)``) that puts the most values on the lattice ``(p, r, off)``, how many
    values it puts there (weighted by occurrences) and how many distinct ones.

    Value ``v`` sits on the lattice when ``(off - v r) mod p < r``: the offsets it accepts are the ``r``
    residues from ``v r mod p`` on (cyclic). The best offset starts one of these windows' ends: count,
    for every residue ``a_j``, the values whose residue lies in ``(a_j - r, a_j]`` (cyclically)."""
    a = (values * r) % p
    order = np.argsort(a, kind="stable")
    a, w = a[order], weights[order]
    doubled = np.concatenate([a - p, a])  # residues unrolled once, so a window may wrap below zero
    cum_w = np.concatenate([[0], np.cumsum(np.concatenate([w, w]))])
    upto = np.searchsorted(doubled, a, side="right")
    below = np.searchsorted(doubled, a - r, side="right")
    fits = cum_w[upto] - cum_w[below]
    best = int(np.argmax(fits))
    return int(a[best]), int(fits[best]), int(upto[best] - below[best])
