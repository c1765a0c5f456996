"""The fixed-rate codec on one record at a time: what a per-record serializer and deserializer call.

For a batch, :class:`~compressor.codec.Codec` makes a handful of NumPy calls around each model call, about
a microsecond each whatever the batch size: most of the cost of a batch of one. :class:`FixedRateOne` does
the elementwise steps of one record (normalize; quantize, clip and cast; dequantize; denormalize) in one
compiled call each, and leaves the model's matrix products to the same NumPy forward pass
(:class:`~compressor.inference.Predictor`). Every elementwise step is the IEEE float32 operation NumPy
performs, in the same order (no fused multiply-add), so a record gives the same bytes and the same decoded
values whichever path coded it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

if TYPE_CHECKING:
    from compressor.inference import Predictor
    from compressor.normalization import Normalizer
    from compressor.quantization import LatentQuantizer

__all__ = ["FixedRateOne"]


@njit(cache=True)
def _normalize(x: np.ndarray, offset: np.ndarray, scale: np.ndarray, out: np.ndarray) -> None:
    """``out = (x - offset) / scale`` in float32, as :meth:`Normalizer.forward`."""
    for i in range(x.shape[0]):
        out[i] = (x[i] - offset[i]) / scale[i]


@njit(cache=True)
def _quantize(
    latent: np.ndarray, low: np.ndarray, step: np.ndarray, top: np.float32, out: np.ndarray
) -> None:
    """``out = clip(rint((latent - low) / step), 0, top)`` cast to ``out``'s type, as
    :meth:`LatentQuantizer.quantize`."""
    for i in range(latent.shape[0]):
        q = np.rint((latent[i] - low[i]) / step[i])
        if q < 0:
            q = np.float32(0)
        if q > top:
            q = top
        out[i] = q


@njit(cache=True)
def _affine(v: np.ndarray, scale: np.ndarray, offset: np.ndarray, out: np.ndarray) -> None:
    """``out = v * scale + offset`` in float32, rounded after each operation (as NumPy computes it)."""
    for i in range(v.shape[0]):
        out[i] = np.float32(v[i] * scale[i]) + offset[i]


class FixedRateOne:
    """Fixed-rate coding of single records with one model's normalizer, quantizer and predictors.

    Arguments:
        normalizer (Normalizer): the bundle's normalizer.
        quantizer (LatentQuantizer): the bundle's latent quantizer.
        record_size (int): values per record.
    """

    def __init__(self, normalizer: Normalizer, quantizer: LatentQuantizer, record_size: int) -> None:
        self._offset, self._scale = (
            np.ascontiguousarray(a, np.float32) for a in normalizer.tiles(record_size)
        )
        self._low = np.ascontiguousarray(quantizer.low, np.float32)
        self._step = np.ascontiguousarray(quantizer.step, np.float32)
        self._top = np.float32(quantizer.levels - 1)
        self._dtype = np.dtype(quantizer.dtype).newbyteorder("<")
        self._record_size = record_size

    def encode(self, encoder: Predictor, x: np.ndarray) -> bytes:
        """The fixed-rate body of one contiguous float32 record ``x`` (D,)."""
        z = np.empty(self._record_size, np.float32)
        _normalize(x, self._offset, self._scale, z)
        codes = np.empty(self._low.shape[0], self._dtype)
        _quantize(encoder.one(z), self._low, self._step, self._top, codes)
        return codes.tobytes()

    def decode(self, decoder: Predictor, body: bytes) -> np.ndarray:
        """The float32 record (D,) of one fixed-rate body (its length checked by the caller)."""
        codes = np.frombuffer(body, self._dtype).astype(np.float32)
        z = np.empty(codes.shape[0], np.float32)
        _affine(codes, self._step, self._low, z)
        out = np.empty(self._record_size, np.float32)
        _affine(decoder.one(z), self._scale, self._offset, out)
        return out
