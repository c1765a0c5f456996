"""Drift detection over a sliding window of recent records. Pure NumPy, no Kafka.

::

    monitor = DriftMonitor(window=5000, threshold=2.0)
    state = monitor.update(per_record_scores)     # e.g. RMSE / held-back RMSE, one value per record
    state.score, state.drifting, state.changed    # window mean, above threshold?, did it just flip?

The window holds per-batch sums, so an update costs O(1) per batch whatever its size; the oldest
batches drop out once more than ``window`` records are held. Drift is only declared once the window
holds at least ``min_records`` records, so one bad record at start-up does not raise an alarm.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

__all__ = ["DriftMonitor", "DriftState"]


@dataclass(frozen=True)
class DriftState:
    """What :meth:`DriftMonitor.update` saw.

    Arguments:
        score (float): mean of the per-record values in the window (NaN while empty).
        records (int): records in the window.
        drifting (bool): whether the window holds ``min_records`` and its mean is above the threshold.
        changed (bool): ``drifting`` differs from the previous update.
    """

    score: float
    records: int
    drifting: bool
    changed: bool


class DriftMonitor:
    """Mean of per-record values (e.g. reconstruction error relative to training) over recent records.

    Arguments:
        window (int): records the mean runs over (whole batches are dropped, oldest first). Default: 5000.
        threshold (float): the mean above which the stream is drifting. Default: 2.0.
        min_records (int | None): records the window must hold before drift is declared.
            Default: None, meaning ``min(window, 100)``.
    """

    def __init__(self, window: int = 5000, threshold: float = 2.0, min_records: int | None = None) -> None:
        if window < 1:
            raise ValueError("the drift window must hold at least one record")
        self.window = window
        self.threshold = float(threshold)
        self.min_records = min(window, 100) if min_records is None else min_records
        self._batches: collections.deque[tuple[float, int]] = collections.deque()
        self._sum = 0.0
        self._count = 0
        self._drifting = False

    def update(self, values: np.ndarray) -> DriftState:
        values = np.asarray(values, dtype=np.float64).ravel()
        values = values[np.isfinite(values)]
        if values.size:
            self._batches.append((float(values.sum()), int(values.size)))
            self._sum += float(values.sum())
            self._count += int(values.size)
            while len(self._batches) > 1 and self._count - self._batches[0][1] >= self.window:
                s, n = self._batches.popleft()
                self._sum -= s
                self._count -= n
        score = self._sum / self._count if self._count else float("nan")
        drifting = self._count >= self.min_records and score > self.threshold
        changed = drifting != self._drifting
        self._drifting = drifting
        return DriftState(score, self._count, drifting, changed)
