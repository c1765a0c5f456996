"""A streaming-causal anomaly detector for series: reconstruction likelihood, range novelty, one alarm per event.

Every row ``t`` of a series ``(T, C)`` gets a score from rows up to ``t`` only (what a stream can compute):

* ``reconstruction``: the squared reconstruction error of the window ending at ``t``
  (:func:`compressor.applications.locate.causal_scores`) as an anomaly-likelihood z-score
  (:func:`compressor.applications.likelihood.zscores`): the mean of its last :data:`SHORT` log-errors
  against its last :data:`HISTORY` ones. :data:`FLOOR_FRACTION` of the bundle's calibrated threshold
  (the 99th percentile of its held-back training errors) is added to the errors before the log and the
  history's spread counts as at least :data:`MIN_LOG_STD`, so the small errors the model makes on
  ordinary data, and changes of a few percent in them, count as ordinary: without them, a near-perfect
  fit's tiny errors vary over decades in log space and their noise reads as anomalies;
* ``novelty``: how far the row lies beyond the range of every value seen before it (the bundle's reference
  windows and the earlier rows), in units of that range, the largest over channels; 0 inside the range.
  A value the series has never reached is news whatever its reconstruction error (Numenta's NAB detector
  calls this a spatial anomaly).

The score is the reconstruction z-score, raised to at least :data:`NOVEL_Z` on a novel row. An alarm is a
score at or above a level (by default the z of :data:`~compressor.applications.likelihood.LEVEL`), after
which the detector stays quiet for :data:`QUIET` rows: one alarm per event, not one per row of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compressor.applications.likelihood import LEVEL, MIN_HISTORY, zscores
from compressor.applications.locate import causal_scores
from compressor.bundle import Bundle

__all__ = [
    "FLOOR_FRACTION",
    "HISTORY",
    "MIN_LOG_STD",
    "NOVEL_Z",
    "QUIET",
    "SHORT",
    "CausalScores",
    "alarms",
    "causal_scores_of",
    "level_z",
    "novelty",
]

#: errors averaged into the recent value of the reconstruction likelihood
SHORT = 10
#: earlier errors the recent value is compared with
HISTORY = 4000
#: the error floor, as a fraction of the bundle's calibrated threshold
FLOOR_FRACTION = 0.3
#: the least standard deviation of the history's log-errors (changes in the error below about 10 % are noise)
MIN_LOG_STD = 0.1
#: the score of a row beyond the range seen so far (well above any useful alarm level)
NOVEL_Z = 10.0
#: rows of silence after an alarm
QUIET = 100


def level_z(level: float = LEVEL) -> float:
    """The z-score whose Gaussian likelihood is ``level`` (0.9999: 3.72)."""
    from scipy.special import ndtri

    return float(ndtri(level))


@dataclass(frozen=True)
class CausalScores:
    """Per-row causal anomaly scores of a series.

    Arguments:
        score (np.ndarray): ``(T,)`` the detector's score of each row (a z-score; see module doc).
        reconstruction (np.ndarray): ``(T,)`` the reconstruction likelihood's z-score (0 until it has
            enough history).
        novelty (np.ndarray): ``(T,)`` how far each row lies beyond the range seen before it, in units of
            that range (0 inside it).
        errors (np.ndarray): ``(T,)`` the raw reconstruction error of the window ending at each row (``nan``
            before the first full window).
    """

    score: np.ndarray
    reconstruction: np.ndarray
    novelty: np.ndarray
    errors: np.ndarray

    def alarms(self, level: float | None = None, quiet: int = QUIET) -> np.ndarray:
        """:func:`alarms` of :attr:`score`; ``level`` as a z-score (default :func:`level_z`)."""
        return alarms(self.score, level_z() if level is None else level, quiet)


def novelty(
    rows: np.ndarray, reference: np.ndarray | None = None, min_history: int = MIN_HISTORY
) -> np.ndarray:
    """(T,) how far each row of ``rows`` (T, C) lies beyond the range of ``reference`` (R, C) and the rows
    before it, per channel in units of that range, the largest channel; 0 inside the range, while fewer
    than ``min_history`` values came before, and for non-finite values; ``inf`` beyond a range of width 0."""
    rows = np.asarray(rows, np.float64).reshape(len(rows), -1)
    c = rows.shape[1]
    finite = np.where(np.isfinite(rows), rows, np.nan)
    ref = np.empty((0, c)) if reference is None else np.asarray(reference, np.float64).reshape(-1, c)
    ref = np.where(np.isfinite(ref), ref, np.nan)
    start_hi = np.nanmax(ref, axis=0) if len(ref) and not np.isnan(ref).all() else np.full(c, np.nan)
    start_lo = np.nanmin(ref, axis=0) if len(ref) and not np.isnan(ref).all() else np.full(c, np.nan)
    hi = np.fmax.accumulate(np.vstack([start_hi, finite]), axis=0)[:-1]  # range of what came before
    lo = np.fmin.accumulate(np.vstack([start_lo, finite]), axis=0)[:-1]
    excess = np.fmax(finite - hi, lo - finite)
    span = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(excess > 0, excess / span, 0.0)
    ratio = np.nan_to_num(ratio, nan=0.0, posinf=np.inf)
    seen = len(ref) + np.arange(len(rows))
    ratio[seen < min_history] = 0.0
    return ratio.max(axis=1) if len(rows) else np.zeros(0)


def causal_scores_of(
    bundle: Bundle,
    rows: np.ndarray,
    *,
    short: int = SHORT,
    history: int = HISTORY,
    floor_fraction: float = FLOOR_FRACTION,
) -> CausalScores:
    """The detector's scores of every row of ``rows`` (T, C), each from rows up to it only (see module doc);
    bundles without a calibrated threshold get no floor."""
    rows = np.asarray(rows, np.float32).reshape(len(rows), -1)
    w, n = bundle.window, len(rows)
    errors = causal_scores(bundle, rows)
    threshold = bundle.anomaly.threshold if bundle.anomaly is not None else 0.0
    floor = floor_fraction * threshold if np.isfinite(threshold) else 0.0
    z = np.zeros(n)
    if n >= w:
        z[w - 1 :] = zscores(errors[w - 1 :], short=short, history=history, floor=floor, min_std=MIN_LOG_STD)
    reference = None
    if bundle.reference is not None and len(bundle.reference):
        reference = np.asarray(bundle.reference, np.float64).reshape(-1, bundle.channels)
    novel = novelty(rows, reference)
    score = np.where(novel > 0, np.maximum(z, NOVEL_Z), z)
    return CausalScores(score, z, novel, errors)


def alarms(score: np.ndarray, level: float, quiet: int = QUIET) -> np.ndarray:
    """(T,) bool: rows whose ``score`` reaches ``level``, each followed by ``quiet`` rows without alarm."""
    score = np.asarray(score, np.float64)
    flags = np.zeros(len(score), bool)
    quiet_until = -1
    for i in np.flatnonzero(score >= level):
        if i > quiet_until:
            flags[i] = True
            quiet_until = i + quiet
    return flags
