"""A combined anomaly score: reconstruction error, nearest-neighbour distance and flatness, per point.

Reconstruction error alone misses anomalies the model reconstructs well (a stuck sensor's flat line, a
plausible stretch in an implausible order). Three scores per row of a series, computed from the bundle and
the series only (no labels):

* ``reconstruction``: the row's squared reconstruction error (:mod:`compressor.applications.locate`);
* ``neighbour``: the distance of the window centred on the row to its nearest neighbour among the
  bundle's reference (training) windows and the series' own windows sharing no row with it
  (:mod:`compressor.applications.neighbours`);
* ``flatness``: how far the standard deviation of the :func:`flat_length` rows around the row falls below
  the 1st percentile of the same on the reference windows, in nats (``log`` of the ratio), per channel,
  the largest; 0 when no flatter than training. A stuck sensor scores tens of nats.

Each becomes a z-score: the first two in log space against their own median and spread over the scored
series (offline, :func:`located`) or over their own past (streaming, :func:`causal`, via
:func:`compressor.applications.likelihood.zscores`); flatness, already relative to training, is its own
z-score. The combined score is their sum (the averaging ensemble of z-normalized detectors: a stretch two
scores find mildly unusual outranks a stretch one score alone finds a little more unusual), and the
largest of the three at the located row names the score that located it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compressor.applications.likelihood import zscores
from compressor.applications.locate import causal_scores, point_scores
from compressor.applications.neighbours import nearest_distances, znormalized
from compressor.bundle import Bundle
from compressor.windows import sliding

__all__ = ["COMPONENTS", "Combined", "causal", "flat_length", "flatness", "located", "robust_z"]

#: the names of the scores, in the order of :attr:`Combined.components`' columns
COMPONENTS = ("reconstruction", "neighbour", "flatness")
#: quantile of the reference's local standard deviations below which a stretch counts as flat
FLAT_QUANTILE = 0.01
_TINY = 1e-9


def flat_length(window: int) -> int:
    """Rows whose spread the flatness score looks at: a quarter of the window, at least 16 (shorter runs of
    equal values are common in integer-valued data)."""
    return max(16, window // 4)


@dataclass(frozen=True)
class Combined:
    """Per-row combined anomaly scores of a series.

    Arguments:
        score (np.ndarray): ``(T,)`` the sum of the z-scores of each row.
        components (np.ndarray): ``(T, 3)`` the z-score of each of :data:`COMPONENTS`.
        raw (np.ndarray): ``(T, 3)`` the scores before normalization (flatness: nats below training).
        stride (int): rows between the windows scored.
    """

    score: np.ndarray
    components: np.ndarray
    raw: np.ndarray
    stride: int

    @property
    def peak(self) -> int:
        """The row with the highest combined score."""
        return int(np.argmax(self.score))

    def component_at(self, row: int) -> str:
        """The name of the score that gives ``row`` its combined score."""
        return COMPONENTS[int(np.argmax(self.components[row]))]


def robust_z(scores: np.ndarray) -> np.ndarray:
    """``(log s - median) / (1.4826 MAD)`` over the finite positive entries; ``inf`` stays ``inf``,
    ``nan`` (no score) becomes 0."""
    s = np.asarray(scores, np.float64)
    logs = np.log(np.maximum(np.where(np.isfinite(s), s, 1.0), _TINY))
    ok = np.isfinite(s)
    if not ok.any():
        return np.where(np.isposinf(s), np.inf, 0.0)
    median = np.median(logs[ok])
    spread = max(1.4826 * float(np.median(np.abs(logs[ok] - median))), 1e-3)
    return np.where(ok, (logs - median) / spread, np.where(np.isposinf(s), np.inf, 0.0))


def _local_std(norm_rows: np.ndarray, length: int, *, centred: bool) -> np.ndarray:
    """(T, C) standard deviation over ``length`` rows ending at (or centred on) each row; nan where the
    stretch leaves the series."""
    t = len(norm_rows)
    out = np.full(norm_rows.shape, np.nan)
    if t < length:
        return out
    stretches = np.lib.stride_tricks.sliding_window_view(norm_rows, length, axis=0)  # (T-L+1, C, L)
    first = length // 2 if centred else length - 1
    out[first : first + t - length + 1] = stretches.std(axis=2)
    return out


def _flat_floor(bundle: Bundle, reference: np.ndarray, length: int) -> np.ndarray:
    """(C,) the :data:`FLAT_QUANTILE` of the local standard deviations inside the reference windows."""
    c = bundle.channels
    windows = bundle.normalizer.forward(reference).reshape(len(reference), -1, c).astype(np.float64)
    stretches = np.lib.stride_tricks.sliding_window_view(windows, length, axis=1)  # (R, W-L+1, C, L)
    return np.quantile(stretches.std(axis=3).reshape(-1, c), FLAT_QUANTILE, axis=0)


def flatness(local_std: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """(T,) nats by which each row's local spread (T, C) falls below ``floor`` (C,), the largest channel;
    0 where not below it or unknown (nan)."""
    with np.errstate(invalid="ignore"):
        nats = np.log(np.maximum(floor, _TINY)) - np.log(np.maximum(local_std, _TINY))
    return np.nan_to_num(np.clip(nats, 0.0, None), nan=0.0).max(axis=1)


def _reference(bundle: Bundle, norm_rows: np.ndarray) -> np.ndarray:
    """The bundle's reference windows, or (bundles without them) the series' own windows."""
    if bundle.reference is not None and len(bundle.reference):
        return np.asarray(bundle.reference, np.float32)
    own = sliding(norm_rows, bundle.window, max(1, bundle.window // 4))
    return bundle.normalizer.inverse(own) if len(own) else own


def _centred(values: np.ndarray, stride: int, window: int, n_rows: int) -> np.ndarray:
    """(T,) each row gets the value of the window (one every ``stride`` rows) centred nearest to it."""
    nearest = np.rint((np.arange(n_rows) - window // 2) / stride).astype(int)
    return values[np.clip(nearest, 0, len(values) - 1)]


def _neighbours(bundle: Bundle, norm_rows: np.ndarray, reference: np.ndarray, **kw) -> np.ndarray:  # noqa: ANN003
    c = bundle.channels
    windows = znormalized(sliding(norm_rows, bundle.window, 1), c)
    ref = znormalized(bundle.normalizer.forward(reference), c)
    return nearest_distances(windows, ref, exclusion=bundle.window, **kw)


def _prepared(bundle: Bundle, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.asarray(rows, np.float32).reshape(len(rows), -1)
    norm = bundle.normalizer.forward(rows.reshape(1, -1)).reshape(rows.shape)
    norm = np.where(np.isfinite(norm), norm, 0.0).astype(np.float32)  # non-finite rows: reconstruction says
    return rows, norm, _reference(bundle, norm)


def located(bundle: Bundle, rows: np.ndarray, stride: int | None = None) -> Combined:
    """Offline scores of every row of ``rows`` (T, C): windows every ``stride`` rows, each score's z against
    its own distribution over the series (see module doc)."""
    rows, norm, reference = _prepared(bundle, rows)
    w, n = bundle.window, len(rows)
    points = point_scores(bundle, rows, stride)
    raw = np.zeros((n, 3))
    raw[:, 0] = points.scores
    if n >= w:
        distances = _neighbours(bundle, norm, reference, every=points.stride)
        raw[:, 1] = _centred(distances, points.stride, w, n)
    length = flat_length(w)
    raw[:, 2] = flatness(_local_std(norm, length, centred=True), _flat_floor(bundle, reference, length))
    z = np.column_stack([robust_z(raw[:, 0]), robust_z(raw[:, 1]), raw[:, 2]])
    return Combined(z.sum(axis=1), z, raw, points.stride)


def causal(bundle: Bundle, rows: np.ndarray, **likelihood_options) -> Combined:  # noqa: ANN003
    """Streaming scores of every row of ``rows`` (T, C), each from rows up to it only: the window ending at
    the row, each score's causal z against its own past (``likelihood_options`` as for
    :func:`compressor.applications.likelihood.zscores`); 0 before the first full window."""
    rows, norm, reference = _prepared(bundle, rows)
    w, n = bundle.window, len(rows)
    raw = np.full((n, 3), np.nan)
    raw[:, 0] = causal_scores(bundle, rows)
    if n >= w:
        raw[w - 1 :, 1] = _neighbours(bundle, norm, reference, causal=True)
    length = flat_length(w)
    raw[:, 2] = flatness(_local_std(norm, length, centred=False), _flat_floor(bundle, reference, length))
    z = np.zeros((n, 3))
    if n >= w:
        for k in (0, 1):
            z[w - 1 :, k] = zscores(raw[w - 1 :, k], **likelihood_options)
    z[:, 2] = raw[:, 2]
    return Combined(z.sum(axis=1), z, raw, 1)
