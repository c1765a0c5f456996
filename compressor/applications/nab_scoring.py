"""The Numenta Anomaly Benchmark's scoring rules (NAB v1.1), for detections on one or many series.

Rules, as in NAB's ``sweeper.py`` and ``runner.py`` (re-implemented here, not copied):

* The first ``min(floor(0.15 * n), 0.15 * 5000)`` points of a series are probationary: never scored.
* A detection at index ``i`` inside a labelled window ``[left, right]`` (width ``w = right - left + 1``)
  weighs ``tp_weight * S(-(right - i + 1) / w) / S(-1)``, where ``S(x) = 2 / (1 + exp(5 x)) - 1`` is the
  scaled sigmoid (``S(x) = -1`` for ``x >= 3``): the window's left edge is worth ``tp_weight``, its right
  edge ``tp_weight * S(-1/w) / S(-1)``, almost nothing. A window scores its best (earliest) detection,
  or ``-fn_weight`` when it has none.
* A detection outside every window weighs ``fp_weight * S(|i - r| / (w_prev - 1))`` where ``r`` and
  ``w_prev`` are the right edge and width of the previous window (a little above ``-fp_weight`` just after a
  window, ``-fp_weight`` from three window widths on), or ``-fp_weight`` when no window came before.
* A profile (``profiles.json``) sets the three weights. Over a corpus, raw scores add up; the null
  detector (no detections) scores ``-fn_weight`` per window, the perfect one ``tp_weight`` per window, and
  the reported score is ``100 * (raw - null) / (perfect - null)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "FileScore",
    "Profile",
    "load_profiles",
    "normalized_score",
    "point_weights",
    "probationary_length",
    "scaled_sigmoid",
    "score_file",
    "window_indices",
]

PROBATION_PERCENT = 0.15


def scaled_sigmoid(x: float) -> float:
    """NAB's ``S(x) = 2 * sigmoid(-5 x) - 1``, and -1 from ``x >= 3`` on."""
    if x >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def probationary_length(n: int, percent: float = PROBATION_PERCENT) -> float:
    """Points ``i < probationary_length(n)`` are not scored."""
    return min(math.floor(percent * n), percent * 5000)


@dataclass(frozen=True)
class Profile:
    """The weights of one NAB scoring profile (``profiles.json``).

    Arguments:
        name (str): the profile's name, e.g. ``"standard"``.
        tp_weight (float): weight of a detection at the start of a window (the score of a true positive).
        fp_weight (float): weight of a detection outside any window (its penalty is scaled by this).
        fn_weight (float): penalty of a window with no detection.
    """

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


def load_profiles(path: str | Path) -> dict[str, Profile]:
    """NAB's ``profiles.json``: ``{name: {"CostMatrix": {"tpWeight", "fpWeight", "fnWeight", ...}}}``."""
    raw = json.loads(Path(path).read_text())
    return {
        name: Profile(
            name,
            float(p["CostMatrix"]["tpWeight"]),
            float(p["CostMatrix"]["fpWeight"]),
            float(p["CostMatrix"]["fnWeight"]),
        )
        for name, p in raw.items()
    }


def window_indices(timestamps: Sequence[str], windows: Iterable[Sequence[str]]) -> list[tuple[int, int]]:
    """Index ranges ``(left, right)`` (inclusive) of windows given as timestamp strings."""
    ts = np.array([np.datetime64(t.strip().replace(" ", "T")) for t in timestamps])
    out = []
    for start, end in windows:
        left = int(np.searchsorted(ts, np.datetime64(start.strip().replace(" ", "T")), side="left"))
        right = int(np.searchsorted(ts, np.datetime64(end.strip().replace(" ", "T")), side="right")) - 1
        if right >= left:
            out.append((left, right))
    return out


def point_weights(
    n: int, windows: Sequence[tuple[int, int]], profile: Profile
) -> tuple[np.ndarray, np.ndarray]:
    """``(weight, window)`` per point: the score a detection there would add and the index of the window
    it falls in (-1 outside any window)."""
    weight = np.empty(n, np.float64)
    which = np.full(n, -1, np.int64)
    max_tp = scaled_sigmoid(-1.0)
    prev_right: int | None = None
    prev_width = 0
    bounds = sorted(windows)
    k = 0
    i = 0
    while i < n:
        if k < len(bounds) and i == bounds[k][0]:
            left, right = bounds[k]
            width = right - left + 1
            for j in range(left, min(right, n - 1) + 1):
                weight[j] = scaled_sigmoid(-(right - j + 1) / width) * profile.tp_weight / max_tp
                which[j] = k
            prev_right, prev_width = right, width
            i = right + 1
            k += 1
            continue
        if prev_right is None:
            position = 3.0
        else:
            position = abs(prev_right - i) / max(prev_width - 1, 1)
        weight[i] = scaled_sigmoid(position) * profile.fp_weight
        i += 1
    return weight, which


@dataclass(frozen=True)
class FileScore:
    """The NAB score of one file's detections.

    Arguments:
        raw (float): this file's contribution to the corpus score.
        windows (int): windows with at least one scorable point.
        detected_windows (int): those windows with at least one detection.
        true_detections (int): detections inside windows (after probation).
        false_detections (int): detections outside windows (after probation).
        null (float): the null detector's score on this file.
        perfect (float): the perfect detector's score on this file.
    """

    raw: float
    windows: int
    detected_windows: int
    true_detections: int
    false_detections: int
    null: float
    perfect: float


def score_file(
    detections: np.ndarray,
    windows: Sequence[tuple[int, int]],
    profile: Profile,
    probation_percent: float = PROBATION_PERCENT,
    weights: tuple[np.ndarray, np.ndarray] | None = None,
) -> FileScore:
    """Score boolean ``detections`` (one per point) against window index ranges, under ``profile``;
    ``weights``: :func:`point_weights` of the same, when already computed (a threshold sweep scores the
    same file many times)."""
    detections = np.asarray(detections, bool)
    n = len(detections)
    weight, which = point_weights(n, windows, profile) if weights is None else weights
    scorable = np.arange(n) >= probationary_length(n, probation_percent)
    hits = detections & scorable
    window_ids = sorted(set(which[scorable & (which >= 0)].tolist()))
    raw = 0.0
    detected = 0
    for k in window_ids:
        inside = hits & (which == k)
        if inside.any():
            raw += float(weight[inside].max())
            detected += 1
        else:
            raw -= profile.fn_weight
    false = hits & (which < 0)
    raw += float(weight[false].sum())
    return FileScore(
        raw=raw,
        windows=len(window_ids),
        detected_windows=detected,
        true_detections=int((hits & (which >= 0)).sum()),
        false_detections=int(false.sum()),
        null=-profile.fn_weight * len(window_ids),
        perfect=profile.tp_weight * len(window_ids),
    )


def normalized_score(scores: Iterable[FileScore]) -> float:
    """``100 * (raw - null) / (perfect - null)`` summed over files: perfect 100, no detections 0."""
    scores = list(scores)
    raw = sum(s.raw for s in scores)
    null = sum(s.null for s in scores)
    perfect = sum(s.perfect for s in scores)
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0
