"""Frozen entropy models of the error-bounded codec, built from integer arithmetic only.

Residuals are coded with one of ``K`` *classes*: a two-sided geometric (discrete Laplace) table whose mean
absolute value ``MU[k]`` climbs by a factor sqrt(2) per class, from 0.05 to about 6000 grid steps. Wide
classes code ``r >> shift`` with the table and the ``shift`` low bits uniformly. Each table spans
``[-RADIUS, RADIUS]`` plus an escape symbol for anything larger.

The tables are the same on every machine by construction: the decay ``theta`` of each class is fixed as an
integer numerator over 2**24 (from ``MU`` with IEEE-exact operations: literals, products, one square root,
one division) and the counts are computed with Python integers. ``constriction`` receives those integer
counts as float64 values (exact), and turns them into its fixed-point tables with plain IEEE arithmetic.
The encoder also uses rough per-class cost coefficients (float); they only steer its choices, never what
the decoder computes.
"""

from __future__ import annotations

import functools
import math

import constriction
import numpy as np

__all__ = [
    "CLASSES",
    "ESCAPE",
    "MU",
    "RADIUS",
    "SHIFT",
    "class_cost_coefficients",
    "class_delta_model",
    "first_class_model",
    "fitted_model",
    "residual_model",
    "uniform_model",
]

RADIUS = 511
ESCAPE = 2 * RADIUS + 1  # symbol index of the escape; residual r is coded as index r + RADIUS
_SQRT2 = 1.4142135623730951
_MU0 = 0.05
#: classes: mean absolute residual (in grid steps) each one is made for
CLASSES = 34
MU = tuple(_MU0 * float(1 << (k // 2)) * (_SQRT2 if k % 2 else 1.0) for k in range(CLASSES))
_HI_MAX = 48.0  # a class codes r >> shift so that the coded part has a mean |.| of at most this


def _shift(mu: float) -> int:
    s = 0
    while mu / float(1 << s) > _HI_MAX:
        s += 1
    return s


SHIFT = tuple(_shift(mu) for mu in MU)


def _theta_numerator(k: int) -> int:
    mu = MU[k] / float(1 << SHIFT[k])
    theta = (math.sqrt(1.0 + mu * mu) - 1.0) / mu  # two-sided geometric with E|r| = mu
    return int(round(theta * (1 << 24)))


@functools.cache
def residual_counts(k: int) -> tuple[int, ...]:
    """Integer counts of class ``k`` over ``[-RADIUS, RADIUS]`` and the escape (index ``ESCAPE``)."""
    num = _theta_numerator(k)
    side = [1 << 40]
    for _ in range(RADIUS):
        side.append(side[-1] * num >> 24)
    total = side[0] + 2 * sum(side[1:])
    floor = max(1, total >> 24)
    counts = [side[abs(r)] + floor for r in range(-RADIUS, RADIUS + 1)]
    counts.append(max(1, total >> 10))
    return tuple(counts)


def _categorical(counts: tuple[int, ...]) -> constriction.stream.model.Categorical:
    return constriction.stream.model.Categorical(np.asarray(counts, dtype=np.float64), perfect=False)


@functools.cache
def residual_model(k: int) -> constriction.stream.model.Categorical:
    return _categorical(residual_counts(k))


@functools.cache
def class_delta_model() -> constriction.stream.model.Categorical:
    """Change of class from one block to the next one of the same column: ~3**-|delta|."""
    top = 3**CLASSES
    return _categorical(tuple(max(1, top // 3 ** abs(d)) for d in range(-(CLASSES - 1), CLASSES)))


@functools.cache
def first_class_model() -> constriction.stream.model.Categorical:
    """First block's class against the class expected from training statistics: ~2**-|delta|/1.5."""
    top = 1 << 60
    return _categorical(tuple(max(1, top >> (2 * abs(d) // 3)) for d in range(-(CLASSES - 1), CLASSES)))


def fitted_counts(table: dict, multiplier: int) -> tuple[int, ...]:
    """Integer counts over ``[-RADIUS, RADIUS]`` and the escape from a residual histogram fitted at training
    on the data's lattice (``{"low", "counts", "escape"}``, residuals in units of the quantum), for a grid of
    ``multiplier`` quanta: training residual ``i`` falls on ``floor((i + (m - 1) / 2) / m)``. Every symbol
    keeps a floor of ``total >> 16`` so a value never seen in training still codes. Integer arithmetic only."""
    m = int(multiplier)
    if m < 1 or m % 2 == 0:
        raise ValueError(f"lattice multiplier must be a positive odd integer, got {m}")
    low = int(table["low"])
    raw = [int(c) for c in table["counts"]]
    if low < -RADIUS or low + len(raw) - 1 > RADIUS or min(raw, default=0) < 0:
        raise ValueError("fitted residual table lies outside the coded range")
    counts = [0] * (2 * RADIUS + 2)
    half = (m - 1) // 2
    for offset, c in enumerate(raw):
        counts[(low + offset + half) // m + RADIUS] += c
    counts[ESCAPE] = int(table.get("escape", 0))
    total = sum(counts)
    floor = max(1, total >> 16)
    return tuple(c + floor for c in counts)


@functools.cache
def _fitted_model(counts: tuple[int, ...]) -> constriction.stream.model.Categorical:
    return _categorical(counts)


def fitted_model(table: dict, multiplier: int) -> constriction.stream.model.Categorical:
    """The entropy model of :func:`fitted_counts` (cached by its counts)."""
    return _fitted_model(fitted_counts(table, multiplier))


@functools.cache
def uniform_model(size: int) -> constriction.stream.model.Uniform:
    return constriction.stream.model.Uniform(size)


@functools.cache
def class_cost_coefficients() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class ``(a, b, shift)``: a block of n residuals with sum S of |r| costs ~ n*a + b*S bits."""
    a = np.empty(CLASSES)
    b = np.empty(CLASSES)
    for k in range(CLASSES):
        counts = np.asarray(residual_counts(k), dtype=np.float64)
        total = counts.sum()
        a[k] = -math.log2(counts[RADIUS] / total) + SHIFT[k]
        b[k] = -math.log2(_theta_numerator(k) / (1 << 24)) / float(1 << SHIFT[k])
    return a, b, np.asarray(SHIFT, dtype=np.int64)
