"""Anomaly likelihood: a score judged against its own recent history instead of a fixed global threshold.

As in Numenta's anomaly likelihood (Ahmad et al. 2017, NAB): the mean of the last ``short`` scores is
compared with the mean and standard deviation of the scores of the ``history`` points before them (in
log space, where reconstruction errors are closer to Gaussian), and the likelihood is the Gaussian
probability of being below that mean, ``1 - Q(z)``. It is causal: the likelihood at ``t`` uses scores up
to ``t`` only, so it is the same offline (:func:`likelihood`) and streaming (:class:`StreamingLikelihood`).
Points with less than ``min_history`` earlier scores get likelihood 0.5. :func:`zscores` also takes a ``floor``
added to every score before the log and a least standard deviation ``min_std`` of the history's
log-scores, so that negligible errors, and changes of a few percent in them, do not read as anomalies.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

__all__ = ["HISTORY", "LEVEL", "MIN_HISTORY", "SHORT", "StreamingLikelihood", "likelihood", "zscores"]

#: scores averaged into the recent value
SHORT = 8
#: earlier scores the recent value is compared with
HISTORY = 2000
#: earlier scores needed before a likelihood other than 0.5 is given
MIN_HISTORY = 32
#: likelihood at or above which a point is flagged (``detect``, producer, compress bridge)
LEVEL = 0.9999
_FLOOR = 1e-12
_MIN_STD = 1e-3


#: what a non-finite score (a record holding NaN/Inf) counts as
_HUGE = 1e300


def _log(scores: np.ndarray, floor: float = 0.0) -> np.ndarray:
    s = np.asarray(scores, np.float64)
    return np.log(np.maximum(np.where(np.isfinite(s), s + floor, _HUGE), _FLOOR))


def zscores(
    scores: np.ndarray,
    *,
    short: int = SHORT,
    history: int = HISTORY,
    min_history: int = MIN_HISTORY,
    floor: float = 0.0,
    min_std: float = _MIN_STD,
) -> np.ndarray:
    """Causal z-score of each point's recent log-score (``log(score + floor)``) against its history (0
    without enough history), the history's standard deviation taken as at least ``min_std``; unbounded,
    so it still ranks points where the likelihood saturates at 1."""
    e = _log(scores, floor)
    n = len(e)
    csum = np.concatenate([[0.0], np.cumsum(e)])
    csq = np.concatenate([[0.0], np.cumsum(e * e)])
    t = np.arange(n)
    recent_from = np.maximum(t - short + 1, 0)
    recent = (csum[t + 1] - csum[recent_from]) / (t + 1 - recent_from)
    hist_to = recent_from
    hist_from = np.maximum(hist_to - history, 0)
    count = hist_to - hist_from
    safe = np.maximum(count, 1)
    mean = (csum[hist_to] - csum[hist_from]) / safe
    var = (csq[hist_to] - csq[hist_from]) / safe - mean**2
    z = (recent - mean) / np.sqrt(np.maximum(var, min_std**2))
    return np.where(count >= min_history, z, 0.0)


def likelihood(
    scores: np.ndarray, *, short: int = SHORT, history: int = HISTORY, min_history: int = MIN_HISTORY
) -> np.ndarray:
    """Causal likelihood in [0, 1] of each score (T,); a non-finite score counts as huge."""
    from scipy.special import ndtr

    return ndtr(zscores(scores, short=short, history=history, min_history=min_history))


class StreamingLikelihood:
    """:func:`likelihood` one score at a time, for producers and bridges.

    Arguments:
        short (int): scores averaged into the recent value. Default: :data:`SHORT`.
        history (int): earlier scores compared with. Default: :data:`HISTORY`.
        min_history (int): earlier scores needed before judging. Default: :data:`MIN_HISTORY`.
    """

    def __init__(self, short: int = SHORT, history: int = HISTORY, min_history: int = MIN_HISTORY) -> None:
        self.min_history = min_history
        self._recent: deque[float] = deque(maxlen=short)
        self._history: deque[float] = deque(maxlen=history)
        self._sum = 0.0
        self._sq = 0.0

    def update(self, score: float) -> float:
        """The likelihood of ``score``, the newest one; then it joins the history."""
        e = math.log(max(score, _FLOOR)) if math.isfinite(score) else math.log(_HUGE)
        if len(self._recent) == self._recent.maxlen:
            moved = self._recent[0]
            if len(self._history) == self._history.maxlen:
                old = self._history[0]
                self._sum -= old
                self._sq -= old * old
            self._history.append(moved)
            self._sum += moved
            self._sq += moved * moved
        self._recent.append(e)
        n = len(self._history)
        if n < self.min_history:
            return 0.5
        mean = self._sum / n
        std = math.sqrt(max(self._sq / n - mean * mean, _MIN_STD**2))
        z = (sum(self._recent) / len(self._recent) - mean) / std
        return 0.5 * math.erfc(-z / math.sqrt(2))
