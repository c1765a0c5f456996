"""Reconstruction quality of decoded records against their originals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Quality", "measure"]


@dataclass(frozen=True)
class Quality:
    rmse: np.ndarray  # (N,) per record
    max_abs_error: np.ndarray  # (N,) per record
    psnr_db: float  # over the whole batch, against the batch's value range

    @property
    def worst(self) -> float:
        return float(self.max_abs_error.max()) if self.max_abs_error.size else 0.0


def measure(original: np.ndarray, decoded: np.ndarray) -> Quality:
    original = np.asarray(original, np.float64)
    diff = np.asarray(decoded, np.float64) - original
    if diff.size == 0:
        return Quality(np.zeros(0), np.zeros(0), float("inf"))
    rmse = np.sqrt(np.mean(diff**2, axis=-1))
    max_abs = np.max(np.abs(diff), axis=-1)
    mse = float(np.mean(diff**2))
    value_range = float(original.max() - original.min())
    psnr = float("inf") if mse == 0 else float(20 * np.log10(max(value_range, 1e-12)) - 10 * np.log10(mse))
    return Quality(rmse, max_abs, psnr)
