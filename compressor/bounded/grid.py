"""The integer grid of an error bound: values become integers ``q`` with ``|x - 2E q| <= E``.

Everything the consumer computes here is IEEE-exact: the bound travels as a 16-bit code whose value is
``(256 + m) * 2**(e - 135)`` (an exact float64), and a value is rebuilt as ``float32(q * s)`` with the grid
step ``s``, one correctly rounded float64 product and one correctly rounded cast. The producer checks every
rebuilt value against the original in float64 and marks the ones that miss the bound (NaN, Inf, values too
large for the grid, values where E is below float32 resolution) for lossless storage.

The step is ``2E`` (kind 1), or on the data's lattice (kind 2) an odd multiple of the column's quantum ``u``
found at training: ``s = (2 floor(E / u) + 1) u`` (which may be finer than ``2E``; the encoder then codes on
it only where its fitted tables make it cheaper). Values that sit on multiples of ``u`` are then rounded
to the nearest multiple of ``s`` with an error of at most ``floor(E / u) u <= E``, and when ``u > 2E`` the
step is ``u`` itself: the record is coded losslessly at fewer bits than a ``2E`` grid would cost.
"""

from __future__ import annotations

import math

import numpy as np

from compressor.errors import ConfigError

__all__ = [
    "FINE",
    "LATTICE",
    "MAX_GRID",
    "PLAIN",
    "bound_code",
    "LOSSLESS_FRACTION",
    "bound_from_code",
    "lattice_steps",
    "quantize",
    "rebuild",
]

#: the grids a record can be coded on: the plain grid (envelope kind 1), the data's lattice (kind 2), and
#: counts on the fine lattice inside it (kind 7; :mod:`compressor.bounded.fine_lattice`)
PLAIN, LATTICE, FINE = 0, 1, 2
#: the lossless bound as a fraction of the data's quantum: below one half, so every value rounds back to
#: its own lattice point, with room for float32 rounding of the values
LOSSLESS_FRACTION = 0.49
#: |q| beyond this is stored raw: keeps every integer, and any sum of a few of them, exact in float64
MAX_GRID = 1 << 40
_EXP_BIAS = 135  # exponent code e in 0..255 stands for 2**(e - 135) times (256 + m): E from ~2**-127


def bound_code(error_bound: float) -> int:
    """The 16-bit code of the largest representable bound that is <= ``error_bound``."""
    e = float(error_bound)
    if not math.isfinite(e) or e <= 0:
        raise ConfigError(f"the error bound must be a positive finite number, got {error_bound!r}")
    mant, exp = math.frexp(e)  # e = mant * 2**exp, mant in [0.5, 1): exact
    m = int(math.floor((mant * 2.0 - 1.0) * 256.0))  # exact in float64
    ecode = exp - 1 - 8 + _EXP_BIAS  # e ~= (256 + m) * 2**(exp - 1 - 8)
    if ecode < 0:
        raise ConfigError(f"the error bound {error_bound!r} is too small (below 2**-127)")
    if ecode > 255:
        return 0xFFFF
    return (ecode << 8) | m


def bound_from_code(code: int) -> float:
    """The exact bound a code stands for."""
    code = int(code)
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"bound code must fit in 16 bits, got {code}")
    return math.ldexp(256 + (code & 0xFF), (code >> 8) - _EXP_BIAS)


def lattice_steps(error_bound: float, quanta: np.ndarray) -> np.ndarray:
    """Per-column step on the data's lattice: ``(2 floor(E / u) + 1) u``, or ``2E`` where ``u`` is NaN or
    not positive. IEEE-exact: one division, one floor, one product per column, so producer and consumer
    compute the same steps."""
    bound = float(error_bound)
    u = np.asarray(quanta, dtype=np.float64)
    usable = np.isfinite(u) & (u > 0)
    safe = np.where(usable, u, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        k = np.floor(bound / safe)
        lattice = (2.0 * k + 1.0) * safe
    plain = 2.0 * bound
    return np.where(usable & np.isfinite(lattice) & (lattice > 0), lattice, plain)


def quantize(
    values: np.ndarray, error_bound: float, step: float | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Grid integers (int64) for float32 ``values`` and a mask of values that must be stored raw.

    ``step`` (default ``2E``) broadcasts against ``values``. At raw positions ``q`` is 0; the caller fills
    it with whatever keeps the residuals small.
    """
    # one compiled pass (the per-record encoder's loop) instead of a dozen NumPy passes over the batch: per
    # value one division, rint, one product and one float32 cast, the same IEEE operations
    from compressor.bounded.record_kernel import quantize_one

    x = np.asarray(values)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    step = np.asarray(2.0 * error_bound if step is None else step, dtype=np.float64)
    steps = np.ascontiguousarray(np.broadcast_to(step, x.shape)).ravel()
    q, raw, _ = quantize_one(np.ascontiguousarray(x).ravel(), steps, float(error_bound))
    return q.reshape(x.shape), raw.reshape(x.shape)


def rebuild(q: np.ndarray, step: float | np.ndarray) -> np.ndarray:
    """``float32(q * step)``: one exact int->float64 conversion, one rounded product, one rounded cast."""
    return (np.asarray(q, dtype=np.int64).astype(np.float64) * np.asarray(step, dtype=np.float64)).astype(
        np.float32
    )
