"""When the encoder tries the autoencoder predictors: AE-SZ's rule, with sampling that learns across batches.

Per record, an autoencoder predictor is kept only where it beats the best simple predictor, its latent
code included. Running the encoder and the integer decoder costs far more than the simple predictors, so
a batch tries it on a sample first (half of :data:`PROBE` records; one record in a batch of at most
:data:`PROBE`) and on every record only if it wins somewhere in the sample. Once it has lost on
:data:`PATIENCE` records in a row, it is tried on 1 record in :data:`PROBE`, across batches. This state
steers effort only: whatever it decides, the payloads decode the same way.
"""

from __future__ import annotations

import numpy as np

from compressor.bounded import context
from compressor.bounded.autoencoder import AE_PREDICTORS, ae_forward
from compressor.bounded.parameters import BoundedParameters
from compressor.bounded.predictors import PREDICTORS
from compressor.bounded.record_kernel import MAX_BLOCKS, block_costs, greedy_bits_one, residuals_one
from compressor.bounded.tables import class_cost_coefficients

__all__ = ["PATIENCE", "PROBE", "AutoencoderProbe"]

#: batches larger than this try the autoencoder on a sample of half as many records first (smaller ones on
#: one record)
PROBE = 16
#: after this many records in a row without an autoencoder win, every batch samples 1 record in PROBE
PATIENCE = 64


class AutoencoderProbe:
    """The autoencoder trials of one encoder and what they have learned.

    Arguments:
        params (BoundedParameters): the model's shared coding parameters (with an autoencoder).
        never_won (bool): the autoencoder never won on the model's own validation records (a training
            hint): start out sampling sparsely. Default: False.
    """

    def __init__(self, params: BoundedParameters, never_won: bool = False) -> None:
        self.params = params
        #: records since the autoencoder last won (steers sampling only)
        self.losses = PATIENCE if never_won else 0
        self._since_probe = 0  # records since the autoencoder was last tried, once it keeps losing

    def improve(
        self,
        x: np.ndarray,
        q: np.ndarray,
        step_flat: np.ndarray,
        best_bits: np.ndarray,
        best_pred: np.ndarray,
        best_r: np.ndarray,
    ) -> np.ndarray | None:
        """Where an autoencoder predictor beats the simple ones' ``best_*`` (N,) of records ``x`` on the grid
        (``q``), replace them in place; the latent codes (N, dims) of the batch when it was run on every
        record, else None."""
        n = x.shape[0]
        rows = np.arange(n)
        sample = PROBE // 2 if n > PROBE else min(n - 1, 1)
        if self.losses >= PATIENCE:
            self._since_probe += n
            sample = n // PROBE if self._since_probe < PROBE else max(1, n // PROBE)
            if sample:
                self._since_probe = 0
            else:
                rows = rows[:0]
        if sample:
            probe = np.unique(np.linspace(0, n - 1, sample).astype(np.int64))
            won = self._candidates(x, q, step_flat, probe, best_bits, best_pred, best_r, None)
            if not won.any():
                rows = np.zeros(0, np.int64)
                self.losses += len(probe)
        if not rows.size:
            return None
        codes = np.zeros((n, self.params.autoencoder.fixed.layers[0][0].shape[0]), dtype=np.int64)
        won = self._candidates(x, q, step_flat, rows, best_bits, best_pred, best_r, codes)
        self.losses = 0 if won.any() else self.losses + n
        return codes

    def _candidates(  # noqa: PLR0913
        self,
        x: np.ndarray,
        q: np.ndarray,
        step_flat: np.ndarray,
        rows: np.ndarray,
        best_bits: np.ndarray,
        best_pred: np.ndarray,
        best_r: np.ndarray,
        codes_out: np.ndarray | None,
    ) -> np.ndarray:
        """Try the autoencoder predictors on ``rows``; with ``codes_out`` keep the winners (in place).
        Returns which of ``rows`` the autoencoder wins."""
        p = self.params
        ae = p.autoencoder
        xs = x[rows]
        codes = ae.encode_codes(np.where(np.isfinite(xs), xs, p.offset_flat))
        pred = ae.fixed.predict_grid(codes, step_flat).reshape(len(rows), p.rows, p.cols)
        latent_bits = ae.code_bits(codes)
        won = np.zeros(len(rows), dtype=bool)
        for slot, name in enumerate(p.predictors):
            if name not in AE_PREDICTORS:
                continue
            r, bits = self._estimate(name, q[rows], pred)
            bits = bits + latent_bits
            better = bits < best_bits[rows]
            won |= better
            if codes_out is not None and better.any():
                idx = rows[better]
                best_bits[idx] = bits[better]
                best_pred[idx] = slot
                best_r[idx] = r[better]
                codes_out[idx] = codes[better]
        return won

    def _estimate(self, name: str, q: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residuals in scan order (N, cols, rows) of autoencoder predictor ``name`` and their quick
        estimate of bits (N,); one record through the compiled kernels (the same numbers)."""
        if q.shape[0] == 1 and self.params.cols * self.params.blocks <= MAX_BLOCKS:
            if name == "ae":
                r = residuals_one(PREDICTORS.index("center"), q[0], pred[0])
            else:
                r = residuals_one(PREDICTORS.index("delta"), q[0] - pred[0], np.zeros_like(pred[0]))
            a, b, _ = class_cost_coefficients()
            return r[None], np.array([greedy_bits_one(block_costs(r, context.BLOCK, a, b))])
        r = ae_forward(name, q, pred).transpose(0, 2, 1)
        return r, context.greedy_bits(*context.block_sums(r))
