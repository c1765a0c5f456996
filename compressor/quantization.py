"""Uniform scalar quantization of latent vectors, with ranges frozen at training time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["LatentQuantizer"]


@dataclass(frozen=True)
class LatentQuantizer:
    """Each latent dimension ``j`` maps ``[low_j, high_j]`` onto ``2**bits`` evenly spaced levels.

    Arguments:
        low (np.ndarray): ``(L,)`` float32, the lowest level of each latent dimension.
        high (np.ndarray): ``(L,)`` float32, the highest level of each latent dimension.
        bits (int): bits per latent value, 1 to 16. Default: 8.
    """

    low: np.ndarray
    high: np.ndarray
    bits: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 16:
            raise ValueError(f"latent bits must be between 1 and 16, got {self.bits}")

    @cached_property
    def levels(self) -> int:
        return 1 << self.bits

    @property
    def dtype(self) -> type[np.unsignedinteger]:
        return np.uint8 if self.bits <= 8 else np.uint16

    @cached_property
    def step(self) -> np.ndarray:
        """Level spacing per dimension (computed once: every record is quantized with it)."""
        return ((self.high - self.low) / (self.levels - 1)).astype(np.float32)

    @classmethod
    def fit(cls, latents: np.ndarray, bits: int = 8, margin: float = 0.05) -> LatentQuantizer:
        low = latents.min(axis=0).astype(np.float64)
        high = latents.max(axis=0).astype(np.float64)
        span = np.maximum(high - low, 1e-6)
        return cls((low - margin * span).astype(np.float32), (high + margin * span).astype(np.float32), bits)

    def quantize(self, latents: np.ndarray) -> np.ndarray:
        q = np.rint((latents - self.low) / self.step)
        # np.clip's result, without its wrapper's cost per call (a per-record serializer pays it per record)
        np.maximum(q, 0, out=q)
        np.minimum(q, self.levels - 1, out=q)
        return q.astype(self.dtype)

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        return (codes.astype(np.float32) * self.step + self.low).astype(np.float32)

    def to_bytes(self, codes: np.ndarray) -> list[bytes]:
        """One byte string per row, little-endian."""
        codes = np.ascontiguousarray(codes, dtype=np.dtype(self.dtype).newbyteorder("<"))
        width = codes.shape[1] * codes.itemsize
        flat = codes.tobytes()
        return [flat[i : i + width] for i in range(0, len(flat), width)]

    def from_bytes(self, payloads: list[bytes]) -> np.ndarray:
        dtype = np.dtype(self.dtype).newbyteorder("<")
        return np.frombuffer(b"".join(payloads), dtype=dtype).reshape(len(payloads), -1)

    @cached_property
    def payload_size(self) -> int:
        """Bytes of one record's codes (read for every envelope a consumer checks)."""
        return int(self.low.shape[0]) * np.dtype(self.dtype).itemsize

    def to_json(self) -> dict[str, object]:
        return {"bits": self.bits, "low": [float(v) for v in self.low], "high": [float(v) for v in self.high]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LatentQuantizer:
        return cls(
            np.asarray(data["low"], np.float32),
            np.asarray(data["high"], np.float32),
            int(data["bits"]),  # type: ignore[arg-type]
        )
