"""Which records the encoder also codes with the classical coder (kinds 1 and 2), next to the learned one.

A record goes as kind 3 where its learned payload is smaller than the classical one. Finding that out for
every record costs the classical encoder on every record, which is slower than the learned coder itself,
for a gain that is often nil: at fine bounds and on lossless data the learned payload is the smaller one
for nearly every record. :class:`ClassicalTrials` keeps, per bound, the bytes the classical payloads saved
on the records where both coders ran. Until :data:`COMPARE` records have been compared, and while the
classical payloads save at least :data:`MIN_SAVING` of the bytes, every record is coded both ways; below
that, only one record in :data:`SAMPLE` (across batches, so that the saving keeps being measured) and the
records the learned coder cannot code. This state steers effort only: whatever it decides, every payload
decodes the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["COMPARE", "MIN_SAVING", "SAMPLE", "ClassicalTrials"]

#: records compared at a bound before the classical coder may be skipped
COMPARE = 256
#: fraction of the bytes the classical payloads must save for every record to be coded both ways
MIN_SAVING = 0.02
#: where the classical coder does not pay, one record in SAMPLE is still coded both ways
SAMPLE = 64
#: the measured bytes are halved once this many records are counted, so the estimate follows the stream
MEMORY = 4096


class ClassicalTrials:
    """Per bound, the bytes the classical coder saved over the learned one, and the choice that follows."""

    def __init__(self) -> None:
        #: bound code -> [records compared, learned bytes, bytes of the smaller payload]
        self._stats: dict[int, list[float]] = {}
        self._countdown: dict[int, int] = {}

    def saving(self, code: int) -> float | None:
        """Fraction of the bytes the classical payloads saved at bound ``code`` (None before any record)."""
        stats = self._stats.get(code)
        if stats is None or stats[1] <= 0:
            return None
        return 1.0 - stats[2] / stats[1]

    def rows(self, code: int, learned_sizes: np.ndarray) -> np.ndarray:
        """Indices of the records to code with the classical coder too, from the sizes of their learned
        payloads (N,) (negative: the learned coder cannot code the record)."""
        n = len(learned_sizes)
        if self._compare_all(code):
            return np.arange(n)
        # one record in SAMPLE, counted across batches (a batch of one record is sampled too)
        left = self._countdown.get(code, 0)
        sampled = np.arange(left, n, SAMPLE)
        self._countdown[code] = (left - n) % SAMPLE
        return np.union1d(sampled, np.flatnonzero(learned_sizes < 0))

    def take(self, code: int, learned_size: int) -> bool:
        """:meth:`rows` of a batch of one record, as a truth value: whether to code it classically too,
        from the size of its learned payload (negative: the learned coder cannot code it)."""
        if self._compare_all(code):
            return True
        left = self._countdown.get(code, 0)
        self._countdown[code] = (left - 1) % SAMPLE
        return left == 0 or learned_size < 0

    def _compare_all(self, code: int) -> bool:
        """Whether every record at bound ``code`` is still coded both ways."""
        stats = self._stats.get(code)
        saving = self.saving(code)
        return stats is None or stats[0] < COMPARE or saving is None or saving >= MIN_SAVING

    def record(self, code: int, learned_sizes: np.ndarray, classical_sizes: np.ndarray) -> None:
        """Count records coded both ways at bound ``code`` (learned sizes negative where it could not)."""
        both = learned_sizes >= 0
        if not both.any():
            return
        learned = learned_sizes[both].astype(np.float64)
        best = np.minimum(learned, classical_sizes[both])
        stats = self._stats.setdefault(code, [0.0, 0.0, 0.0])
        stats[0] += float(both.sum())
        stats[1] += float(learned.sum())
        stats[2] += float(best.sum())
        if stats[0] >= MEMORY:
            self._stats[code] = [v / 2 for v in stats]
