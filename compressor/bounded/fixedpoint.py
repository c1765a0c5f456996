"""The autoencoder's decoder as an exact integer computation, so every consumer predicts the same values.

A chain of Dense layers (the default models) runs on integers: latent values and activations are kept
as integers in units of ``2**-ACT_BITS``, weights as integers in units of ``2**-w_bits`` (per layer), and
each layer computes ``floor((h @ W + b) / 2**w_bits)`` then ReLU. The products run as float64 matrix
products (BLAS, any thread count) on integer-valued arrays; the weights' scale is chosen when the codec is
built so that every partial sum stays below 2**52 whatever the latent code (bounds propagated with Python
integers), so every product and sum is exact and the summation order cannot matter. The output goes back to
the grid with elementwise IEEE operations only (a power-of-two scale, one product, one sum, one division,
``rint``). Models that are not a Dense chain get no autoencoder predictor.
"""

from __future__ import annotations

import logging

import numpy as np

from compressor.bounded import grid

__all__ = ["ACT_BITS", "FixedPointDecoder"]

log = logging.getLogger(__name__)

ACT_BITS = 12
_LIMIT = 1 << 52


class FixedPointDecoder:
    """Integer forward pass of a Dense-chain decoder from dequantized latent codes to grid predictions.

    Arguments:
        plan (list[tuple[np.ndarray, np.ndarray, str]]): the decoder's layers as (kernel, bias,
            activation), activation ``"linear"`` or ``"relu"``.
        latent_low (np.ndarray): per latent dimension, the value of code 0.
        latent_step (np.ndarray): per latent dimension, the step between codes.
        levels (int): codes per latent dimension.
        offset (np.ndarray): per value, the normalizer's offset.
        scale (np.ndarray): per value, the normalizer's scale.
    """

    def __init__(
        self,
        plan: list[tuple[np.ndarray, np.ndarray, str]],
        latent_low: np.ndarray,
        latent_step: np.ndarray,
        levels: int,
        offset: np.ndarray,
        scale: np.ndarray,
    ) -> None:
        self.low = np.asarray(latent_low, np.float32).astype(np.float64)
        self.step = np.asarray(latent_step, np.float32).astype(np.float64)
        self.offset = np.asarray(offset, np.float32).astype(np.float64)
        self.scale = np.asarray(scale, np.float32).astype(np.float64)
        act = float(1 << ACT_BITS)
        top = np.maximum(np.abs(self.low), np.abs(self.low + self.step * (levels - 1)))
        bound = int(np.ceil(top.max() * act)) + 1
        self.layers: list[tuple[np.ndarray, np.ndarray, float, bool]] = []
        for kernel, bias, activation in plan:
            if activation not in ("linear", "relu"):
                raise ValueError(f"activation {activation} has no exact integer form")
            k64 = np.asarray(kernel, np.float32).astype(np.float64)
            b64 = np.asarray(bias, np.float32).astype(np.float64)
            for w_bits in range(16, 3, -1):
                w_int = np.rint(k64 * float(1 << w_bits))
                b_int = np.rint(b64 * (act * float(1 << w_bits)))
                col = np.abs(w_int).sum(axis=0)  # exact: integers far below 2**53
                worst = int(col.max()) * bound + int(np.abs(b_int).max())
                if worst < _LIMIT:
                    break
            else:
                raise ValueError("decoder weights too large for an exact integer forward pass")
            self.layers.append((w_int, b_int, float(1 << w_bits), activation == "relu"))
            bound = worst // (1 << w_bits) + 1
        self.out_dim = int(self.layers[-1][0].shape[1])

    def latent_ints(self, codes: np.ndarray) -> np.ndarray:
        z = np.asarray(codes, dtype=np.int64).astype(np.float64) * self.step + self.low
        return np.rint(z * float(1 << ACT_BITS))

    def normalized(self, codes: np.ndarray) -> np.ndarray:
        """Decoder output in units of 2**-ACT_BITS (integer-valued float64), exactly."""
        h = self.latent_ints(codes)
        for w_int, b_int, div, relu in self.layers:
            h = np.floor((h @ w_int + b_int) / div)
            if relu:
                np.maximum(h, 0.0, out=h)
        return h

    def predict_grid(self, codes: np.ndarray, step: float | np.ndarray) -> np.ndarray:
        """Grid predictions (N, D) int64 for latent ``codes`` (N, L) on a grid of ``step`` (scalar or (D,))."""
        y = self.normalized(codes) * (1.0 / float(1 << ACT_BITS))
        value = y * self.scale + self.offset
        with np.errstate(over="ignore", invalid="ignore"):
            q = np.rint(value / np.asarray(step, dtype=np.float64))
        q = np.clip(np.where(np.isfinite(q), q, 0.0), -grid.MAX_GRID, grid.MAX_GRID)
        return q.astype(np.int64)
