"""Per-channel normalization learned from training data and frozen into the bundle."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Normalizer"]


@dataclass(frozen=True)
class Normalizer:
    """``z = (x - offset) / scale`` per channel; a record of W x C values is laid out row-major.

    Arguments:
        offset (np.ndarray): ``(C,)`` float32, the training mean of each channel.
        scale (np.ndarray): ``(C,)`` float32, the training spread of each channel.
    """

    offset: np.ndarray
    scale: np.ndarray

    @property
    def channels(self) -> int:
        return int(self.offset.shape[0])

    @classmethod
    def fit(cls, records: np.ndarray, channels: int) -> Normalizer:
        values = np.asarray(records, dtype=np.float64).reshape(-1, channels)
        finite = np.isfinite(values)
        masked = np.where(finite, values, np.nan)
        offset = np.nanmean(masked, axis=0)
        scale = np.nanstd(masked, axis=0)
        offset = np.where(np.isfinite(offset), offset, 0.0)
        # a constant channel keeps a unit scale so it neither explodes nor vanishes
        floor = 1e-6 * np.maximum(1.0, np.abs(offset))
        scale = np.where(np.isfinite(scale) & (scale > floor), scale, 1.0)
        return cls(offset.astype(np.float32), scale.astype(np.float32))

    @cached_property
    def _tiled(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Record size -> (offset, scale) laid out over a whole record; filled on first use of each size."""
        return {}

    def tiles(self, record_size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(offset, scale)`` laid out over a whole record of ``record_size`` values (D,) each."""
        tiles = self._tiled.get(record_size)
        if tiles is None:
            reps = record_size // self.channels
            tiles = (np.tile(self.offset, reps), np.tile(self.scale, reps))
            self._tiled[record_size] = tiles
        return tiles

    def forward(self, records: np.ndarray) -> np.ndarray:
        offset, scale = self.tiles(records.shape[-1])
        return ((records - offset) / scale).astype(np.float32)

    def inverse(self, normalized: np.ndarray) -> np.ndarray:
        offset, scale = self.tiles(normalized.shape[-1])
        return (normalized * scale + offset).astype(np.float32)

    def to_json(self) -> dict[str, list[float]]:
        return {"offset": [float(v) for v in self.offset], "scale": [float(v) for v in self.scale]}

    @classmethod
    def from_json(cls, data: dict[str, list[float]]) -> Normalizer:
        return cls(np.asarray(data["offset"], np.float32), np.asarray(data["scale"], np.float32))
