"""Denoising: a blend of the model's reconstruction and classical smoothers.

Two paths, by what is known about the noise:

* **Known noise std** (``sigma``, in data units, per channel): the blend is chosen on the records being
  denoised themselves, by Stein's unbiased risk estimate (:mod:`compressor.applications.sure`), which needs
  no clean signal. Candidates (:data:`KNOWN_CANDIDATES`): the noisy record, the model's reconstruction, a
  Savitzky-Golay filter, wavelet shrinkage with its own noise estimate and wavelet shrinkage given the known
  noise std. One weight per candidate and channel (one set for records that are a single row), least SURE
  over all records of the call; the noisy record being a candidate, the estimated error is never above the
  noise's own (:func:`denoise_known`).
* **Unknown noise** (the fallback, :func:`denoise` without ``sigma``): weights fitted at training time, per
  noise level, keyed by each record's estimated noise, as follows.

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

from compressor.applications import smoothers, sure
from compressor.bundle import Bundle
from compressor.denoise_blend import DenoiseBlend
from compressor.errors import ConfigError
from compressor.inference import Predictor
from compressor.quality import measure

__all__ = [
    "CANDIDATES",
    "KNOWN_CANDIDATES",
    "LEVELS",
    "add_noise",
    "compare",
    "denoise",
    "denoise_known",
    "denoise_report",
    "fit_blend",
    "noise_std",
    "psnr_gain",
]

#: noise levels the blend is fitted at, in units of each channel's training standard deviation
LEVELS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
#: what the blend combines, in this order
CANDIDATES = ("noisy", "model", "savgol", "wavelet")
#: what the known-noise blend combines, in this order
KNOWN_CANDIDATES = ("noisy", "model", "savgol", "wavelet", "wavelet_known_sigma")
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


def _denoise_estimated(bundle: Bundle, x: np.ndarray) -> np.ndarray:
    """Normalized records ``x`` cleaned with the blend fitted at training, keyed by estimated noise."""
    blend = bundle.denoise_blend
    if blend is None or tuple(blend.candidates) != CANDIDATES:
        return _reconstruct(bundle.encoder, bundle.decoder, x)
    cands = _candidates(bundle.encoder, bundle.decoder, x, bundle.window, bundle.normalizer.channels)
    w = _blend_weights(blend, _sigma(x, bundle.window, bundle.normalizer.channels))
    return np.einsum("knd,nk->nd", cands, w)


def _groups(bundle: Bundle, record_size: int) -> np.ndarray:
    """(D,) the group each position is weighted with: its channel in a window, else one group."""
    channels = bundle.normalizer.channels
    if bundle.window > 1 and bundle.window * channels == record_size:
        return np.tile(np.arange(channels), bundle.window)
    return np.zeros(record_size, np.int64)


def noise_std(bundle: Bundle, sigma: Any, record_size: int) -> np.ndarray:
    """A known noise std, one value or one per channel (data units), laid out over a record (D,)."""
    sigma = np.atleast_1d(np.asarray(sigma, np.float64))
    channels = bundle.normalizer.channels
    if sigma.ndim != 1 or len(sigma) not in (1, channels) or not np.all(np.isfinite(sigma) & (sigma >= 0)):
        raise ConfigError(
            f"noise std: give one value or {channels} (one per channel), finite and >= 0; got {sigma.tolist()}"
        )
    return np.tile(np.broadcast_to(sigma, (channels,)), record_size // channels)


def denoise_known(bundle: Bundle, records: np.ndarray, sigma: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """``records`` (N, D, all finite, original units) cleaned by the blend of least SURE for noise of std
    ``sigma`` (one value or one per channel, data units), and what was chosen: the weights per group and
    the estimated PSNR gain (from SURE, no clean data; None when the estimate is not positive)."""
    y = np.asarray(records, np.float64)
    n, d = y.shape
    sig = noise_std(bundle, sigma, d)
    window, channels, norm = bundle.window, bundle.normalizer.channels, bundle.normalizer
    groups = _groups(bundle, d)
    count = int(groups.max()) + 1

    def model(v: np.ndarray) -> np.ndarray:
        return norm.inverse(_reconstruct(bundle.encoder, bundle.decoder, norm.forward(v.astype(np.float32))))

    def wavelet_known(v: np.ndarray) -> np.ndarray:
        return smoothers.wavelet(v, window, channels, sigma=sig)

    def wavelet(v: np.ndarray) -> np.ndarray:
        return smoothers.wavelet(v, window, channels)

    cands = np.stack([y, model(y), smoothers.savgol(y, window, channels), wavelet(y), wavelet_known(y)])
    divs = [
        sure.linear_divergence(np.ones(d), sig, n, groups, count),
        sure.mc_divergence(model, y, sig, groups, count, fy=cands[1]),
        sure.linear_divergence(smoothers.savgol_diagonal(d, window, channels), sig, n, groups, count),
        sure.mc_divergence(wavelet, y, sig, groups, count, fy=cands[3]),
        sure.mc_divergence(wavelet_known, y, sig, groups, count, fy=cands[4]),
    ]
    divergences = np.stack(divs)
    centre = norm.tiles(d)[0].astype(np.float64)
    weights = sure.sure_weights(cands, y, centre, divergences, groups)
    chosen_divergence = np.einsum("gk,kg->g", weights, divergences)
    blended = sure.blend(cands, centre, weights, groups)
    risk = sure.sure(blended, y, sig, chosen_divergence, groups)
    noise = divergences[0]  # the noisy record's own risk: n sigma^2 per group
    # the noisy record itself wherever the blend is not estimated to beat it (numerical safety)
    worse = risk >= noise
    weights[worse] = np.eye(len(cands))[0]
    risk = np.where(worse, noise, risk)
    cleaned = sure.blend(cands, centre, weights, groups) if worse.any() else blended
    total_noise, total_risk = float(noise.sum()), float(risk.sum())
    info = {
        "noise": "known",
        "candidates": list(KNOWN_CANDIDATES),
        "weights": [[float(v) for v in w] for w in weights],
        # None when SURE comes out at or below zero (the data far cleaner than the std given)
        "estimated_gain_db": 10 * np.log10(total_noise / total_risk)
        if min(total_noise, total_risk) > 0
        else None,
        "method": "SURE-chosen blend of " + ", ".join(KNOWN_CANDIDATES),
    }
    return cleaned.astype(np.float32), info


def denoise(bundle: Bundle, records: np.ndarray, sigma: Any = None) -> np.ndarray:
    """Cleaned copy (N, D) float32 of ``records`` (N, D) in original units. With ``sigma``, the noise std
    (one value or one per channel, data units), the blend is chosen by SURE on these records
    (:func:`denoise_known`); without it, the blend fitted at training is keyed by estimated noise."""
    return denoise_report(bundle, records, sigma)[0]


def denoise_report(
    bundle: Bundle, records: np.ndarray, sigma: Any = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`denoise` and what it did: ``noise`` ("known" or "estimated"), ``method`` and, with known
    noise, the chosen weights and the SURE-estimated gain."""
    records = np.asarray(records, np.float32)
    out = records.copy()
    finite = np.isfinite(records).all(axis=1)
    blend = bundle.denoise_blend
    info: dict[str, Any] = {
        "noise": "estimated",
        "method": blend.method if blend and tuple(blend.candidates) == CANDIDATES else "model reconstruction",
    }
    if not finite.any():
        return out, info
    if sigma is not None:
        out[finite], info = denoise_known(bundle, records[finite], sigma)
    else:
        x = bundle.normalizer.forward(records[finite])
        out[finite] = bundle.normalizer.inverse(_denoise_estimated(bundle, x).astype(np.float32))
    return out, info


def add_noise(bundle: Bundle, records: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """``records`` plus Gaussian noise of ``std`` times each channel's training standard deviation."""
    records = np.asarray(records, np.float32)
    return records + _noise(records.shape, bundle.normalizer.scale, std, seed)


def compare(
    bundle: Bundle,
    clean: np.ndarray,
    noisy: np.ndarray,
    sigma: Any = None,
    denoised: tuple[np.ndarray, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """PSNR (dB, against ``clean``) of the noisy records, the denoised ones (``sigma`` as in
    :func:`denoise`) and the two classical smoothers applied to the same noisy records, and the gains over
    the noisy records (``gain_db`` is the denoised records'). The smoothers estimate the noise themselves
    (the standard Savitzky-Golay and BayesShrink); with a known ``sigma`` the report adds wavelet shrinkage
    given it (``psnr_wavelet_known_sigma_db``). ``denoised``: what :func:`denoise_report` already returned
    for these records, if the caller has it."""
    channels = bundle.normalizer.channels
    denoised, info = denoised if denoised is not None else denoise_report(bundle, noisy, sigma)
    outputs = {
        "noisy": noisy,
        "denoised": denoised,
        "savgol": smoothers.savgol(noisy, bundle.window, channels),
        "wavelet": smoothers.wavelet(noisy, bundle.window, channels),
    }
    if sigma is not None:
        sig = noise_std(bundle, sigma, noisy.shape[1])
        outputs["wavelet_known_sigma"] = smoothers.wavelet(noisy, bundle.window, channels, sigma=sig)
    report: dict[str, Any] = {f"psnr_{k}_db": measure(clean, v).psnr_db for k, v in outputs.items()}
    report["gain_db"] = report["psnr_denoised_db"] - report["psnr_noisy_db"]
    for k in list(outputs)[2:]:
        report[f"gain_{k}_db"] = report[f"psnr_{k}_db"] - report["psnr_noisy_db"]
    report.update(info)
    return report


def psnr_gain(
    bundle: Bundle, clean: np.ndarray, std: float, seed: int = 0, known: bool = False
) -> dict[str, Any]:
    """:func:`compare` on ``clean`` plus noise of ``std`` (see :func:`add_noise`); ``known``: the denoiser
    is told the noise std added."""
    noisy = add_noise(bundle, clean, std, seed)
    sigma = std * bundle.normalizer.scale if known else None
    return {"noise_std": float(std), **compare(bundle, clean, noisy, sigma)}
