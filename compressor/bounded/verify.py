"""The consumer-side check of an error bound: count decoded values farther than E from the original.

A value counts as inside the bound when ``|decoded - original| <= E`` in float64, or when both are the
same non-finite value (NaN for NaN, the same infinity); anything else (a NaN where a number was, a number
where NaN was) is a violation. The consumer adds the count to
``latentwire_consumer_bound_violations_total``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from compressor.envelope import BOUNDED_KINDS, LEARNED_KINDS, Envelope

__all__ = ["bound_violations", "check_and_count", "payload_bound"]


def bound_violations(original: np.ndarray, decoded: np.ndarray, bound: float | np.ndarray) -> int:
    """Number of values of ``decoded`` outside ``bound`` of ``original`` (broadcasting ``bound``)."""
    x = np.asarray(original, dtype=np.float64)
    y = np.asarray(decoded, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"original {x.shape} and decoded {y.shape} differ in shape")
    with np.errstate(invalid="ignore"):
        inside = np.abs(y - x) <= np.asarray(bound, dtype=np.float64)
    same_nonfinite = (np.isnan(x) & np.isnan(y)) | (np.isinf(x) & (x == y))
    return int((~(inside | same_nonfinite)).sum())


def payload_bound(envelope: Envelope, codec: Any) -> float | None:
    """The bound an error-bounded envelope was coded with (``codec``: the model's ``Codec``), else None."""
    if envelope.kind in LEARNED_KINDS and codec.learned_records is not None:
        return float(codec.learned_records.read_bound(envelope.payload, envelope.kind))
    if envelope.kind not in BOUNDED_KINDS:
        return None
    return float(codec.bounded_coder.read_bound(envelope.payload, envelope.version7))


def check_and_count(
    original: np.ndarray, decoded: np.ndarray, bound: float | np.ndarray, counter: Any | None = None
) -> int:
    """:func:`bound_violations`, also added to ``counter`` (a Prometheus counter or child) when given."""
    bad = bound_violations(original, decoded, bound)
    if counter is not None and bad:
        counter.inc(bad)
    return bad
