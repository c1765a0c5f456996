"""Denoising: a blend of the model's reconstruction and classical smoothers, fitted on held-back records.

At training time (:func:`fit_blend`) Gaussian noise of several levels (:data:`LEVELS`, in units of each
channel's training standard deviation) is added to the held-back records, and for each level the least
squares weights of four candidates are fitted against the clean records: the noisy record itself, the
model's reconstruction (unquantized latents), a Savitzky-Golay filter and wavelet shrinkage
(:mod:`compressor.applications.smoothers`). Keeping the noisy record among the candidates means the blend
is never worse than doing nothing on the records it was fitted on; a level where even that fails falls back
to the noisy record (as does one gaining less than :data:`MARGIN_DB` when fitted on one half of the
records and measured on the other). Each level is keyed by the noise the wavelet estimator *measures* on those noisy
records, so at inference the weights follow each record's own estimated noise (interpolated between
levels); no clean data is needed. The table is stored in the bundle as a
:class:`~compressor.denoise_blend.DenoiseBlend` (the manifest's ``codec.denoise`` section).

A bundle without the table (trained before it existed) denoises with the model's reconstruction alone.
Records holding NaN/Inf are returned unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from compressor.applications import smoothers
from compressor.bundle import Bundle
from compressor.denoise_blend import DenoiseBlend
from compressor.inference import Predictor
from compressor.quality import measure

__all__ = ["CANDIDATES", "LEVELS", "add_noise", "compare", "denoise", "fit_blend", "psnr_gain"]

#: noise levels the blend is fitted at, in units of each channel's training standard deviation
LEVELS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
#: what the blend combines, in this order
CANDIDATES = ("noisy", "model", "savgol", "wavelet")
#: cross-validated gain (dB) a level's blend must show on held-back records, else the record is kept as is
MARGIN_DB = 0.2


def _reconstruct(encoder: Any, decoder: Any, x_norm: np.ndarray) -> np.ndarray:
    return Predictor(decoder)(Predictor(encoder)(x_norm))


def _candidates(encoder: Any, decoder: Any, x_norm: np.ndarray, window: int, channels: int) -> np.ndarray:
    """(K, N, D) candidate reconstructions of normalized records, in :data:`CANDIDATES` order."""
    return np.stack(
        [
            x_norm,
            _reconstruct(encoder, decoder, x_norm),
            smoothers.savgol(x_norm, window, channels),
            smoothers.wavelet(x_norm, window, channels),
        ]
    ).astype(np.float64)


def _sigma(x_norm: np.ndarray, window: int, channels: int) -> np.ndarray:
    """Each record's estimated noise std in normalized units (mean over channels)."""
    return smoothers.noise_sigma(x_norm, window, channels).mean(axis=1)


def _noise(shape: tuple[int, ...], scale: np.ndarray, std: float, seed: int) -> np.ndarray:
    tiled = np.tile(scale, shape[1] // len(scale))
    return (std * tiled * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def _fit_weights(cands: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Least-squares weights (K,) of candidates (K, N, D) against ``clean`` (N, D)."""
    w, *_ = np.linalg.lstsq(cands.reshape(len(cands), -1).T, clean.ravel(), rcond=None)
    return w


def _cross_validated_mse(cands: np.ndarray, clean: np.ndarray) -> float:
    """Mean squared error of the blend on each half of the records with weights fitted on the other."""
    if len(clean) < 2:
        return float("inf")
    halves = (np.arange(len(clean)) % 2 == 0, np.arange(len(clean)) % 2 == 1)
    errors = []
    for fit, test in (halves, halves[::-1]):
        w = _fit_weights(cands[:, fit], clean[fit])
        errors.append(np.sum((np.einsum("knd,k->nd", cands[:, test], w) - clean[test]) ** 2))
    return float(sum(errors) / clean.size)


def fit_blend(
    encoder: Any, decoder: Any, normalizer: Any, clean: np.ndarray, window: int, seed: int = 0
) -> DenoiseBlend:
    """The blend, fitted on held-back ``clean`` records (N, D) in original units."""
    channels = normalizer.channels
    clean_norm = normalizer.forward(np.asarray(clean, np.float32)).astype(np.float64)
    ones = np.ones(normalizer.channels, np.float32)
    keys, weights, gains, smoother_gains = [], [], [], []
    for i, level in enumerate(LEVELS):
        noisy = clean_norm.astype(np.float32) + _noise(clean_norm.shape, ones, level, seed + i)
        cands = _candidates(encoder, decoder, noisy, window, channels)
        mse = {name: float(np.mean((c - clean_norm) ** 2)) for name, c in zip(CANDIDATES, cands, strict=True)}
        w = _fit_weights(cands, clean_norm)
        # kept only if weights fitted on one half of the records help the other half by a margin
        if _cross_validated_mse(cands, clean_norm) < mse["noisy"] * 10 ** (-MARGIN_DB / 10):
            blended = float(np.mean((np.einsum("knd,k->nd", cands, w) - clean_norm) ** 2))
        else:
            w, blended = np.eye(len(CANDIDATES))[0], mse["noisy"]
        keys.append(float(np.median(_sigma(noisy, window, channels))))
        weights.append([float(v) for v in w])
        gains.append(10 * np.log10(mse["noisy"] / max(blended, 1e-300)))
        smoother_gains.append(
            {k: 10 * np.log10(mse["noisy"] / max(mse[k], 1e-300)) for k in ("model", "savgol", "wavelet")}
        )
    return DenoiseBlend(
        candidates=list(CANDIDATES),
        levels=list(LEVELS),
        sigma_keys=[float(k) for k in np.maximum.accumulate(keys)],
        weights=weights,
        heldback_gain_db=[float(g) for g in gains],
        heldback_single_gain_db=smoother_gains,
        calibration_records=int(len(clean_norm)),
        method="least-squares blend of " + ", ".join(CANDIDATES),
    )


def _blend_weights(blend: DenoiseBlend, sigma: np.ndarray) -> np.ndarray:
    """(N, K) weights for records of estimated noise ``sigma`` (N,), interpolated in log noise."""
    keys = np.log(np.maximum(np.asarray(blend.sigma_keys, np.float64), 1e-12))
    w = np.asarray(blend.weights, np.float64)
    s = np.log(np.maximum(sigma, 1e-12))
    return np.stack([np.interp(s, keys, w[:, k]) for k in range(w.shape[1])], axis=1)


def denoise(bundle: Bundle, records: np.ndarray) -> np.ndarray:
    """Cleaned copy (N, D) float32 of ``records`` (N, D) in original units."""
    records = np.asarray(records, np.float32)
    out = records.copy()
    finite = np.isfinite(records).all(axis=1)
    if not finite.any():
        return out
    x = bundle.normalizer.forward(records[finite])
    blend = bundle.denoise_blend
    if blend is None or tuple(blend.candidates) != CANDIDATES:
        cleaned = _reconstruct(bundle.encoder, bundle.decoder, x)
    else:
        cands = _candidates(bundle.encoder, bundle.decoder, x, bundle.window, bundle.normalizer.channels)
        w = _blend_weights(blend, _sigma(x, bundle.window, bundle.normalizer.channels))
        cleaned = np.einsum("knd,nk->nd", cands, w)
    out[finite] = bundle.normalizer.inverse(cleaned.astype(np.float32))
    return out


def add_noise(bundle: Bundle, records: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """``records`` plus Gaussian noise of ``std`` times each channel's training standard deviation."""
    records = np.asarray(records, np.float32)
    return records + _noise(records.shape, bundle.normalizer.scale, std, seed)


def compare(bundle: Bundle, clean: np.ndarray, noisy: np.ndarray) -> dict[str, float]:
    """PSNR (dB, against ``clean``) of the noisy records, the denoised ones and the two classical
    smoothers applied to the same noisy records, and the gains over the noisy records (``gain_db`` is the
    denoised records')."""
    channels = bundle.normalizer.channels
    outputs = {
        "noisy": noisy,
        "denoised": denoise(bundle, noisy),
        "savgol": smoothers.savgol(noisy, bundle.window, channels),
        "wavelet": smoothers.wavelet(noisy, bundle.window, channels),
    }
    report = {f"psnr_{k}_db": measure(clean, v).psnr_db for k, v in outputs.items()}
    report["gain_db"] = report["psnr_denoised_db"] - report["psnr_noisy_db"]
    for k in ("savgol", "wavelet"):
        report[f"gain_{k}_db"] = report[f"psnr_{k}_db"] - report["psnr_noisy_db"]
    report["method"] = bundle.denoise_blend.method if bundle.denoise_blend else "model reconstruction"
    return report


def psnr_gain(bundle: Bundle, clean: np.ndarray, std: float, seed: int = 0) -> dict[str, float]:
    """:func:`compare` on ``clean`` plus noise of ``std`` (see :func:`add_noise`)."""
    return {"noise_std": float(std), **compare(bundle, clean, add_noise(bundle, clean, std, seed))}
