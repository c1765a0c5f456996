"""Drop records a reader has already seen, by key: what at-least-once delivery needs on the reading side.

A bridge run ``--at-least-once`` that crashes between writing a batch and committing its input offsets
writes that batch again after the restart: the same keys, in the same order, a second time in the same
partition. When every record carries a unique key (an id, a sequence number, a source offset), a reader
that remembers the keys it has seen recently drops those repeats and sees each record once.

:class:`DropRepeats` remembers the last ``window`` keys of each partition (a repeat follows its original
by at most a few poll batches, so a window of a few batches is enough; older keys are forgotten to keep
memory bounded).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["DropRepeats"]


class DropRepeats:
    """Keep-or-drop decisions for a stream of keyed records.

    Arguments:
        window (int): how many of the most recent keys are remembered per partition. Default: 100000.
    """

    def __init__(self, window: int = 100_000) -> None:
        if window < 1:
            raise ValueError(f"window must be positive, got {window}")
        self.window = window
        self.dropped = 0
        self._seen: dict[int, OrderedDict[Hashable, None]] = {}

    def keep(self, partition: int, key: Hashable) -> bool:
        """True the first time ``key`` shows up in ``partition`` (within the window), False for a repeat."""
        seen = self._seen.setdefault(partition, OrderedDict())
        if key in seen:
            seen.move_to_end(key)
            self.dropped += 1
            return False
        seen[key] = None
        if len(seen) > self.window:
            seen.popitem(last=False)
        return True
