"""Reconstruction quality of decoded records against their originals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Quality", "measure"]


@dataclass(frozen=True)
class Quality:
    """How close decoded records are to the originals.

    Arguments:
        rmse (np.ndarray): ``(N,)`` root mean squared error of each record.
        max_abs_error (np.ndarray): ``(N,)`` largest absolute error of each record.
        psnr_db (float): peak signal-to-noise ratio of the whole batch against its value range, in dB.
    """

    rmse: np.ndarray
    max_abs_error: np.ndarray
    psnr_db: float

    @property
    def worst(self) -> float:
        return float(self.max_abs_error.max()) if self.max_abs_error.size else 0.0


def measure(original: np.ndarray, decoded: np.ndarray) -> Quality:
    """Per-record RMSE and max error, batch PSNR. Sums run in float64; the difference is taken in the
    inputs' own precision (exact for float32 inputs whose difference is representable)."""
    original = np.asarray(original)
    diff = np.asarray(decoded) - original
    if diff.size == 0:
        return Quality(np.zeros(0), np.zeros(0), float("inf"))
    square_sums = np.einsum("...i,...i->...", diff, diff, dtype=np.float64)
    rmse = np.sqrt(square_sums / diff.shape[-1])
    max_abs = np.max(np.abs(diff), axis=-1).astype(np.float64)
    mse = float(square_sums.sum() / diff.size)
    value_range = float(original.max() - original.min())
    psnr = float("inf") if mse == 0 else float(20 * np.log10(max(value_range, 1e-12)) - 10 * np.log10(mse))
    return Quality(rmse, max_abs, psnr)
