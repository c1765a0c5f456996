"""The autoencoder as a predictor of the error-bounded codec (AE-SZ's idea, made exact).

The producer encodes a record to its quantized latent with the float encoder, and both sides run the
decoder as an exact integer forward pass (:mod:`compressor.bounded.fixedpoint`) to a prediction on the
grid. Two predictors use it: ``ae`` (the residual against the prediction) and ``ae-delta`` (previous-value
differences of that residual). The latent codes travel in the stream, coded with the training histograms.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from compressor.bounded import predictors

__all__ = ["AE_PREDICTORS", "AutoencoderPredictor", "ae_forward", "ae_inverse", "autoencoder_of"]

log = logging.getLogger(__name__)

#: predictors that need the latent code: the autoencoder's output, and changes relative to it
AE_PREDICTORS = ("ae", "ae-delta")


def ae_forward(name: str, q: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Residuals of grid values ``q`` (N, rows, cols) against the autoencoder's grid prediction ``pred``."""
    d = q - pred
    return d if name == "ae" else predictors.forward("delta", d, np.zeros(q.shape[1:], np.int64))


def ae_inverse(name: str, r: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Grid values from residuals: the exact inverse of :func:`ae_forward`."""
    if name == "ae":
        return r + pred
    return predictors.inverse("delta", r, np.zeros(r.shape[1:], np.int64)) + pred


class AutoencoderPredictor:
    """What the autoencoder predictors need: the (float) encoder to latent codes for the producer, the exact
    integer decoder for both sides, and the latent code tables (training histograms) for the stream.

    Arguments:
        encode_codes (Callable): records ``(N, D)`` -> quantized latent codes, for the producer.
        fixed (FixedPointDecoder): the exact integer decoder, the same on both sides.
        counts (list[dict[str, Any]] | None): per latent dimension, the training histogram of its codes
            (``{"low": first code, "counts": [...]}``); None or missing dimensions code uniformly.
        levels (int): quantization levels per latent dimension.
    """

    def __init__(
        self, encode_codes: Any, fixed: Any, counts: list[dict[str, Any]] | None, levels: int
    ) -> None:
        import constriction

        self.encode_codes = encode_codes
        self.fixed = fixed
        dims = fixed.layers[0][0].shape[0]
        tables = []
        for j in range(dims):
            table = np.ones(levels, dtype=np.float64)
            if counts and j < len(counts):
                low = int(counts[j]["low"])
                values = np.asarray(counts[j]["counts"], dtype=np.float64)
                table[low : low + len(values)] += values
            tables.append(table)
        self._log_cost = np.stack([-np.log2(t / t.sum()) for t in tables])  # encoder estimate only
        self.models = [constriction.stream.model.Categorical(t, perfect=False) for t in tables]

    def code_bits(self, codes: np.ndarray) -> np.ndarray:
        return self._log_cost[np.arange(codes.shape[1])[None, :], codes].sum(axis=1)


def autoencoder_of(bundle: Any, stats: dict[str, Any]) -> AutoencoderPredictor | None:
    """The autoencoder predictor of a bundle whose decoder is a Dense chain (else None)."""
    from compressor.bounded.fixedpoint import FixedPointDecoder

    try:
        plan = bundle.plan_of("decoder")
    except Exception:  # noqa: BLE001 - any model the plan cannot read simply has no AE predictor
        plan = None
    if not plan:
        log.info("model %s: decoder is not a Dense chain; no autoencoder predictor", bundle.model_id[:8])
        return None
    norm, quant = bundle.normalizer, bundle.quantizer
    d = bundle.record_size
    reps = d // norm.channels
    try:
        fixed = FixedPointDecoder(
            plan, quant.low, quant.step, quant.levels, np.tile(norm.offset, reps), np.tile(norm.scale, reps)
        )
    except ValueError as exc:
        log.info("model %s: no autoencoder predictor (%s)", bundle.model_id[:8], exc)
        return None
    encoder = bundle.predictor("encoder")

    def encode_codes(records: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            latents = encoder(norm.forward(records))
        latents = np.where(np.isfinite(latents), latents, 0.0)
        return np.clip(quant.quantize(latents).astype(np.int64), 0, quant.levels - 1)

    return AutoencoderPredictor(encode_codes, fixed, stats.get("latent_counts"), quant.levels)
