"""Turn user input into a float32 batch of records, or say exactly which record is wrong and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from compressor.errors import DataError, NonFiniteError, NotNumericError, ShapeError

__all__ = ["RejectedRecord", "as_record", "split_valid"]


@dataclass(frozen=True)
class RejectedRecord:
    """A record that failed validation.

    Arguments:
        index (int): its position in the batch.
        error (DataError): why it was refused.
    """

    index: int
    error: DataError


def as_record(
    data: Any, record_size: int, *, allow_short: bool = False, allow_non_finite: bool = False
) -> np.ndarray:
    """One record as a 1-D float32 array of ``record_size`` values (or fewer, with ``allow_short``)."""
    if isinstance(data, str | bytes | bytearray):
        raise NotNumericError(f"a record must be numbers, got {type(data).__name__}")
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ShapeError(f"a record must be a flat array of numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise NotNumericError(
                f"a record must be numbers, got values of type {arr.dtype} (e.g. {arr.ravel()[:1].tolist()!r})"
            ) from None
    arr = arr.astype(np.float32, copy=False).reshape(-1) if arr.ndim > 1 else arr.astype(np.float32)
    if arr.ndim == 0:
        raise ShapeError("a record must be an array of numbers, got a scalar")
    n = arr.shape[0]
    if n != record_size and not (allow_short and 0 < n < record_size):
        raise ShapeError(f"a record must hold {record_size} values for this model, got {n}")
    bad = ~np.isfinite(arr)
    if bad.any() and not allow_non_finite:
        first = int(np.flatnonzero(bad)[0])
        raise NonFiniteError(
            f"record holds {int(bad.sum())} non-finite value(s) (first at index {first}: {arr[first]}); "
            "the fixed-rate codec cannot carry NaN or Inf"
        )
    return arr


def split_valid(
    batch: np.ndarray | Sequence[Any], record_size: int, *, allow_non_finite: bool = False
) -> tuple[np.ndarray, np.ndarray, list[RejectedRecord]]:
    """Validate a batch. Returns (valid rows as (M, D) float32, their indices, the rejected ones).

    ``allow_non_finite`` lets NaN/Inf through for codecs that store such values losslessly.
    """
    if isinstance(batch, np.ndarray) and batch.ndim == 2 and batch.dtype.kind in "biuf":
        arr = batch.astype(np.float32, copy=False)
        if arr.shape[1] != record_size:
            err = ShapeError(f"a record must hold {record_size} values for this model, got {arr.shape[1]}")
            return (
                np.empty((0, record_size), np.float32),
                np.empty(0, np.int64),
                [RejectedRecord(i, err) for i in range(arr.shape[0])],
            )
        finite = np.isfinite(arr).all(axis=1)
        if allow_non_finite or finite.all():
            return arr, np.arange(arr.shape[0]), []
        rejected = [RejectedRecord(int(i), _nonfinite(arr[i])) for i in np.flatnonzero(~finite)]
        keep = np.flatnonzero(finite)
        return arr[keep], keep, rejected
    rows: list[np.ndarray] = []
    kept: list[int] = []
    rejected: list[RejectedRecord] = []
    for i, item in enumerate(batch):
        try:
            rows.append(as_record(item, record_size, allow_non_finite=allow_non_finite))
            kept.append(i)
        except DataError as exc:
            rejected.append(RejectedRecord(i, exc))
    valid = np.stack(rows) if rows else np.empty((0, record_size), np.float32)
    return valid, np.asarray(kept, dtype=np.int64), rejected


def _nonfinite(row: np.ndarray) -> NonFiniteError:
    bad = np.flatnonzero(~np.isfinite(row))
    return NonFiniteError(
        f"record holds {bad.size} non-finite value(s) (first at index {int(bad[0])}: {row[bad[0]]}); "
        "the fixed-rate codec cannot carry NaN or Inf"
    )
