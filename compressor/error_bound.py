"""The error bound of the error-bounded codec: one value, resolved once where the user gives it.

A bound is asked for as an absolute number ``E`` or, with ``--relative``, as a fraction of the training
data's value range. It travels in every kind-1 and kind-2 payload as a 16-bit code
(:func:`compressor.bounded.grid.bound_code`): the largest representable bound that is <= ``E``, so the
guarantee a consumer reads back is never looser than the one asked for. :meth:`ErrorBound.lossless` is
the bound of exact coding on data with a quantum (integer counts, values with a fixed number of decimals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from compressor.bounded.grid import LOSSLESS_FRACTION, bound_code, bound_from_code
from compressor.bounded.stats import smallest_range, value_ranges
from compressor.errors import ConfigError

__all__ = ["LOSSLESS_FRACTION", "ErrorBound"]


@dataclass(frozen=True)
class ErrorBound:
    """An absolute error bound and its wire code.

    ``ErrorBound(E)`` is the absolute bound ``E``; :meth:`resolve` also reads ``--relative`` bounds.

    Arguments:
        value (float): the absolute bound ``E``, a positive finite number: every decoded value is within
            it. Anything ``float()`` accepts; not a number, not positive, not finite, or too small for the
            wire code (below ``2**-127``) raises :class:`~compressor.errors.ConfigError`.

    Attributes:
        value: ``E`` as a float.
        code: the 16-bit code each payload carries, the largest representable bound <= ``E``
            (computed, not a parameter).
    """

    value: float
    code: int = field(init=False)

    def __post_init__(self) -> None:
        value = _positive_finite(self.value)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "code", bound_code(value))

    @property
    def coded(self) -> float:
        """The exact bound the wire code stands for (<= :attr:`value`): what a consumer reads back."""
        return bound_from_code(self.code)

    @classmethod
    def resolve(cls, bundle: Any, value: float, relative: bool = False) -> ErrorBound:
        """The bound for ``value``: absolute, or with ``relative`` ``value`` times the training data's
        value range, taken per channel and the smallest positive one, so the relative bound holds on every
        channel. ``relative`` needs a bundle trained with the bounded statistics."""
        value = _positive_finite(value)
        if not relative:
            return cls(value)
        ranges = value_ranges(bundle)
        if ranges is None:
            raise ConfigError(
                f"model {bundle.model_id[:8]} has no training value ranges (trained before error-bounded "
                "support): retrain it or give an absolute --error-bound"
            )
        return cls(value * (smallest_range(ranges) or 1.0))

    @classmethod
    def lossless(cls, bundle: Any) -> ErrorBound:
        """The bound at which every record of ``bundle``'s data decodes exactly: just below half the
        smallest column quantum found at training (:data:`LOSSLESS_FRACTION` of it), so each value rounds
        back to the lattice point it came from. Raises :class:`~compressor.errors.ConfigError` when a
        column has no quantum (its values sit on no lattice: nothing to reconstruct exactly)."""
        stats = bundle.bounded_stats
        quanta = None if stats is None else stats.quantum
        if not quanta:
            raise ConfigError(
                f"model {bundle.model_id[:8]} has no statistics of its data's quantum (trained before "
                "error-bounded support): retrain it to code losslessly"
            )
        missing = [i for i, u in enumerate(quanta) if u is None]
        if missing:
            raise ConfigError(
                f"this model's data has no quantum in column {missing[0]} (values on no lattice); lossless "
                "needs integer-like data (integer counts, or values with a fixed number of decimals): give "
                "an --error-bound instead"
            )
        return cls(LOSSLESS_FRACTION * float(min(quanta)))

    @classmethod
    def lossless_if_any(cls, bundle: Any) -> ErrorBound | None:
        """:meth:`lossless`, or None where ``bundle``'s data has no lossless bound."""
        try:
            return cls.lossless(bundle)
        except ConfigError:
            return None

    @classmethod
    def of(cls, bound: ErrorBound | float | None) -> ErrorBound | None:
        """``bound`` as an :class:`ErrorBound` (a number is an absolute bound), or None for no bound: how
        public entry points that accept a plain number convert it, once."""
        if bound is None or isinstance(bound, ErrorBound):
            return bound
        return cls(bound)


def _positive_finite(value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"the error bound must be a number, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"the error bound must be a positive finite number, got {value!r}")
    return value
