"""Which records the encoder codes with both coders, the learned one (kinds 3 and 6) and the classical one
(kinds 1, 2 and 7), to keep the smaller payload.

A record goes learned where its learned payload is smaller than the classical one. Finding that out for
every record costs both encoders on every record, for a gain that is often nil: at fine bounds and on
lossless data one coder's payload is the smaller one for nearly every record. :class:`ClassicalTrials`
keeps, per bound, the bytes each coder's payloads took on the records where both ran. Until
:data:`COMPARE` records have been compared, and while each coder saves at least :data:`MIN_SAVING` of the
bytes the other one alone would take, every record is coded both ways. Where the classical payloads save
less than that, only one record in :data:`SAMPLE` (across batches, so that the saving keeps being measured)
and the records the learned coder cannot code are coded classically too; otherwise, where the learned
payloads save less than that, every record is coded classically and one in :data:`SAMPLE` with the learned
coder too. The sampled records come in runs of :data:`RUN` consecutive ones: the same share, in a quarter of
the calls at batches of 256 (a call of the classical coder costs about as much as 10 records in it). This state steers effort only: whatever it decides, every payload decodes the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["COMPARE", "MIN_SAVING", "RUN", "SAMPLE", "ClassicalTrials"]

#: records compared at a bound before the classical coder may be skipped
COMPARE = 256
#: fraction of the bytes each coder must save over the other alone for every record to be coded both ways
MIN_SAVING = 0.02
#: where one coder does not pay, one record in SAMPLE is still coded both ways
SAMPLE = 64
#: sampled records come in runs of this many consecutive ones, one run in SAMPLE * RUN records
RUN = 16
#: the measured bytes are halved once this many records are counted, so the estimate follows the stream
MEMORY = 4096


class ClassicalTrials:
    """Per bound, the bytes each coder saved over the other one, and the choice that follows."""

    def __init__(self) -> None:
        #: bound code -> [records compared, learned bytes, bytes of the smaller payload, classical bytes]
        self._stats: dict[int, list[float]] = {}
        self._countdown: dict[int, int] = {}
        self._learned_countdown: dict[int, int] = {}

    def saving(self, code: int) -> float | None:
        """Fraction of the bytes the classical payloads saved at bound ``code`` (None before any record)."""
        stats = self._stats.get(code)
        if stats is None or stats[1] <= 0:
            return None
        return 1.0 - stats[2] / stats[1]

    def learned_saving(self, code: int) -> float | None:
        """Fraction of the bytes the learned payloads saved over the classical ones alone at bound ``code``
        (None before any record)."""
        stats = self._stats.get(code)
        if stats is None or stats[3] <= 0:
            return None
        return 1.0 - stats[2] / stats[3]

    def learned_rows(self, code: int, n: int) -> np.ndarray | None:
        """Indices of the records of a batch of ``n`` to code with the learned coder too, where the
        classical coder codes them all; None where the learned coder codes every record first (and
        :meth:`rows` picks those coded classically too)."""
        if not (self._compare_all(code) and self._learned_sampled(code)):
            return None
        return _sampled(self._learned_countdown, code, n)

    def _learned_sampled(self, code: int) -> bool:
        """Whether the learned coder has proven not to pay at bound ``code`` (it saved less than
        MIN_SAVING over the classical coder alone on at least COMPARE records)."""
        stats = self._stats.get(code)
        saving = self.learned_saving(code)
        return stats is not None and stats[0] >= COMPARE and saving is not None and saving < MIN_SAVING

    def rows(self, code: int, learned_sizes: np.ndarray) -> np.ndarray:
        """Indices of the records to code with the classical coder too, from the sizes of their learned
        payloads (N,) (negative: the learned coder cannot code the record)."""
        n = len(learned_sizes)
        if self._compare_all(code):
            return np.arange(n)
        # one record in SAMPLE, counted across batches (a batch of one record is sampled too)
        return np.union1d(_sampled(self._countdown, code, n), np.flatnonzero(learned_sizes < 0))

    def take(self, code: int, learned_size: int) -> bool:
        """:meth:`rows` of a batch of one record, as a truth value: whether to code it classically too,
        from the size of its learned payload (negative: the learned coder cannot code it)."""
        if self._compare_all(code):
            return True
        return _sampled(self._countdown, code, 1).size > 0 or learned_size < 0

    def _compare_all(self, code: int) -> bool:
        """Whether the classical coder still pays at bound ``code`` (or too few records are counted): then
        it codes every record the learned coder codes."""
        stats = self._stats.get(code)
        saving = self.saving(code)
        return stats is None or stats[0] < COMPARE or saving is None or saving >= MIN_SAVING

    def record(self, code: int, learned_sizes: np.ndarray, classical_sizes: np.ndarray) -> None:
        """Count records coded both ways at bound ``code`` (learned sizes negative where it could not)."""
        both = learned_sizes >= 0
        if not both.any():
            return
        learned = learned_sizes[both].astype(np.float64)
        classical = classical_sizes[both].astype(np.float64)
        best = np.minimum(learned, classical)
        stats = self._stats.setdefault(code, [0.0, 0.0, 0.0, 0.0])
        stats[0] += float(both.sum())
        stats[1] += float(learned.sum())
        stats[2] += float(best.sum())
        stats[3] += float(classical.sum())
        if stats[0] >= MEMORY:
            self._stats[code] = [v / 2 for v in stats]


def _sampled(positions: dict[int, int], code: int, n: int) -> np.ndarray:
    """Indices of the sampled records of the next ``n`` at bound ``code``: the first :data:`RUN` of every
    ``SAMPLE * RUN`` records of the stream (``positions`` keeps each bound's place, across batches)."""
    period = SAMPLE * RUN
    at = positions.get(code, 0)
    positions[code] = (at + n) % period
    return np.flatnonzero((at + np.arange(n)) % period < RUN)
