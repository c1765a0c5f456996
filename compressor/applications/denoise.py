"""Denoising: the model's reconstruction of a record, in original units, is the cleaned record.

A denoising autoencoder is trained for exactly this, but any variant's reconstruction removes what its
bottleneck cannot represent. The reconstruction is computed from the unquantized latents (quantization
would only add error); records holding NaN/Inf are returned unchanged.
"""

from __future__ import annotations

import numpy as np

from compressor.bundle import Bundle
from compressor.inference import Predictor
from compressor.quality import measure

__all__ = ["add_noise", "denoise", "psnr_gain"]


def denoise(bundle: Bundle, records: np.ndarray) -> np.ndarray:
    """Cleaned copy (N, D) float32 of ``records`` (N, D) in original units."""
    records = np.asarray(records, np.float32)
    out = records.copy()
    finite = np.isfinite(records).all(axis=1)
    if finite.any():
        z = Predictor(bundle.encoder)(bundle.normalizer.forward(records[finite]))
        out[finite] = bundle.normalizer.inverse(Predictor(bundle.decoder)(z))
    return out


def add_noise(bundle: Bundle, records: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """``records`` plus Gaussian noise of ``std`` times each channel's training standard deviation."""
    records = np.asarray(records, np.float32)
    scale = np.tile(bundle.normalizer.scale, records.shape[1] // bundle.normalizer.channels)
    noise = np.random.default_rng(seed).standard_normal(records.shape).astype(np.float32)
    return records + std * scale * noise


def psnr_gain(bundle: Bundle, clean: np.ndarray, std: float, seed: int = 0) -> dict[str, float]:
    """PSNR (dB, against ``clean``) of noisy records and of their denoised copies, and the gain."""
    noisy = add_noise(bundle, clean, std, seed)
    before = measure(clean, noisy).psnr_db
    after = measure(clean, denoise(bundle, noisy)).psnr_db
    return {
        "noise_std": float(std),
        "psnr_noisy_db": before,
        "psnr_denoised_db": after,
        "gain_db": after - before,
    }
