"""Classical smoothers of records along their time axis, the yardsticks (and helpers) of denoising.

A record of ``window`` rows by ``channels`` values (flattened row-major) is smoothed per channel along its
rows; a record that is one row of many values (``window`` 1) is smoothed along that row. Both smoothers
estimate the noise of each record and channel themselves, as a user without clean data would:

* :func:`savgol`: a Savitzky-Golay filter (``scipy.signal.savgol_filter``), order 2 over 11 taps (fewer
  when the sequence is shorter);
* :func:`wavelet`: wavelet shrinkage, BayesShrink (Chang, Yu and Vetterli 2000; the default of
  scikit-image's ``denoise_wavelet``): soft thresholding of each level's detail coefficients of a ``db4``
  decomposition at ``sigma^2 / sigma_x``, ``sigma_x`` the signal std left in that level and ``sigma`` the
  noise std, estimated (Donoho and Johnstone) by the median absolute finest-scale detail coefficient over
  0.6745, or given when known.

:func:`savgol_diagonal` is the Savitzky-Golay filter's own weight of each value in its output, the
divergence Stein's unbiased risk estimate needs (:mod:`compressor.applications.sure`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_sequences", "from_sequences", "noise_sigma", "savgol", "savgol_diagonal", "wavelet"]

#: Savitzky-Golay taps and polynomial order
SAVGOL_TAPS = 11
SAVGOL_ORDER = 2
WAVELET = "db4"


def as_sequences(records: np.ndarray, window: int, channels: int) -> np.ndarray:
    """``(N, D)`` records as ``(N, length, C)`` sequences: rows of the window, or the whole record."""
    records = np.asarray(records, np.float32)
    n, d = records.shape
    if window > 1 and window * channels == d:
        return records.reshape(n, window, channels)
    return records.reshape(n, d, 1)


def from_sequences(seqs: np.ndarray) -> np.ndarray:
    return seqs.reshape(len(seqs), -1)


def _savgol_taps(length: int) -> int:
    return min(SAVGOL_TAPS, length if length % 2 else length - 1)


def savgol(records: np.ndarray, window: int, channels: int) -> np.ndarray:
    """Savitzky-Golay smoothed copy of ``records`` (N, D)."""
    from scipy.signal import savgol_filter

    seqs = as_sequences(records, window, channels)
    taps = _savgol_taps(seqs.shape[1])
    if taps <= SAVGOL_ORDER:
        return np.array(records, np.float32)
    out = savgol_filter(seqs.astype(np.float64), taps, SAVGOL_ORDER, axis=1, mode="interp")
    return from_sequences(out.astype(np.float32))


def savgol_diagonal(record_size: int, window: int, channels: int) -> np.ndarray:
    """The diagonal (D,) of :func:`savgol` as a matrix on one record: d out_i / d in_i at each position
    (the filter's centre tap inside, the edge polynomial fits' own weights near the ends)."""
    from scipy.signal import savgol_filter

    length = as_sequences(np.zeros((1, record_size)), window, channels).shape[1]
    taps = _savgol_taps(length)
    if taps <= SAVGOL_ORDER:
        return np.ones(record_size)
    along = np.diag(savgol_filter(np.eye(length), taps, SAVGOL_ORDER, axis=1, mode="interp"))
    return np.repeat(along, record_size // length)


def _finest_details(seqs: np.ndarray) -> np.ndarray:
    import pywt

    return pywt.dwt(seqs, WAVELET, axis=1, mode="symmetric")[1]


def noise_sigma(records: np.ndarray, window: int, channels: int) -> np.ndarray:
    """Estimated white-noise std of each record and channel (N, C): median |finest detail| / 0.6745."""
    seqs = as_sequences(records, window, channels).astype(np.float64)
    if seqs.shape[1] < 2:
        return np.zeros((len(seqs), seqs.shape[2]))
    return np.median(np.abs(_finest_details(seqs)), axis=1) / 0.6745


def wavelet(records: np.ndarray, window: int, channels: int, sigma: np.ndarray | None = None) -> np.ndarray:
    """Wavelet-shrinkage (BayesShrink, soft) copy of ``records`` (N, D); ``sigma`` (D,), the noise std of
    each position when known, replaces the estimate (its root mean square along each sequence)."""
    import pywt

    seqs = as_sequences(records, window, channels).astype(np.float64)
    length = seqs.shape[1]
    level = pywt.dwt_max_level(length, pywt.Wavelet(WAVELET).dec_len)
    if level < 1:
        return np.array(records, np.float32)
    coeffs = pywt.wavedec(seqs, WAVELET, level=level, axis=1, mode="symmetric")
    if sigma is None:
        sigma = np.median(np.abs(coeffs[-1]), axis=1, keepdims=True) / 0.6745
    else:
        known = as_sequences(np.asarray(sigma, np.float64)[None] ** 2, window, channels).astype(np.float64)
        sigma = np.sqrt(known.mean(axis=1, keepdims=True))
    shrunk = [coeffs[0]]
    for c in coeffs[1:]:
        signal_std = np.sqrt(np.maximum(np.mean(c * c, axis=1, keepdims=True) - sigma**2, 0.0))
        limit = np.where(
            signal_std > 0, sigma**2 / np.maximum(signal_std, 1e-300), np.abs(c).max(axis=1, keepdims=True)
        )
        shrunk.append(np.sign(c) * np.maximum(np.abs(c) - limit, 0.0))
    out = pywt.waverec(shrunk, WAVELET, axis=1, mode="symmetric")[:, :length]
    return from_sequences(out.astype(np.float32))
