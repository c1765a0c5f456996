"""Which input offsets a bridge may commit while events wait in windows, and how a restart rebuilds them.

A bridge that gathers the events of each key into windows produces a window only when it is full or old,
so at any commit some events of a partition are read but not yet produced. Committing the offset after the
last event read would lose them in a crash; committing the offset of the oldest open window would repeat
every event produced since. The ledger commits the smallest first offset ``C`` of any open window (or the
offset after the last event read when none is open) and writes into the commit's metadata what a restart
needs to tell the two apart::

    lw2:<H - C>:<f1 - C>,<f2 - f1>,...        (offsets in base 36, first offsets ascending)

``H`` is the offset after the last event read, ``f1 < f2 < ...`` the first offsets of the open windows.
Reading from ``C`` again, the event at each ``f`` names the key of its window (a window's first event is
of its key, and ``f >= C``), so the key is learned when its window's first event is read again: an event
at offset ``o < H`` was already produced (in a window or alone) unless its key has an open window and
``o >= f``; those events are gathered again into the same windows. So a window is never half committed,
and every event is produced once. Events produced alone (tombstones, pass-through) are produced only while
their key has no open window, which keeps the rule true. The metadata names no key, so it stays short
(a transaction's offset commit is part of what every window costs on the wire) and keys never collide.
It grows with the open windows: a bridge keeps at most :data:`MAX_OPEN` per partition (Kafka's default
limit on commit metadata is 4096 bytes; 256 distances of at most 13 base-36 digits each fit). The
metadata of the earlier layout, ``lw1:<H - C>:<tag><f - C>,...`` (8 characters of a hash of the key per
window), is still read, so a bridge restarted on this version after a crash of the earlier one resumes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

__all__ = ["MAX_OPEN", "PartitionLedger", "WindowLedger", "key_tag"]

MAX_OPEN = 256
_PREFIX = "lw2"
_PREFIX_TAGS = "lw1"
_TAG = 8


def key_tag(key: bytes | None) -> str:
    """8 characters naming a key (a null key and an empty key differ); the layout-1 metadata held them."""
    token = b"" if key is None else b"k" + key
    return base64.urlsafe_b64encode(hashlib.blake2b(token, digest_size=6).digest()).decode()


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


@dataclass
class PartitionLedger:
    """One input partition's offsets: what is read, which windows are open, what a replay skips.

    Parameters:
        start (int): the offset reading starts from (the committed offset, or the first one read).
        replay_high (int): events below it were read by an earlier run (0: none). Default: 0.
        replay_open (dict[str, int]): the earlier run's open windows whose key is known, key tag -> first
            offset. Default: none.
        replay_firsts (set[int]): first offsets of the earlier run's open windows whose key is learned when
            the event there is read again. Default: none.
        high (int): the offset after the last event read; at least ``start``. Default: -1, ``start``.
        open (dict[str, int]): this run's open windows, key tag -> first offset (kept by the bridge).
            Default: none.
    """

    start: int
    replay_high: int = 0
    replay_open: dict[str, int] = field(default_factory=dict)
    replay_firsts: set[int] = field(default_factory=set)
    high: int = -1
    open: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.high = max(self.high, self.start)

    @classmethod
    def from_commit(cls, offset: int, metadata: str) -> PartitionLedger:
        """The ledger a committed offset and its metadata describe (metadata of another writer: none)."""
        parts = (metadata or "").split(":")
        if len(parts) != 3 or parts[0] not in (_PREFIX, _PREFIX_TAGS):
            return cls(offset)
        items = [item for item in parts[2].split(",") if item]
        try:
            high = offset + int(parts[1], 36)
            if parts[0] == _PREFIX_TAGS:
                return cls(offset, high, {item[:_TAG]: offset + int(item[_TAG:], 36) for item in items})
            firsts = list(accumulate((int(item, 36) for item in items), initial=offset))[1:]
        except ValueError:
            return cls(offset)
        return cls(offset, high, replay_firsts=set(firsts))

    def replayed(self, offset: int, tag: str) -> bool:
        """True if the event at ``offset`` was produced before (a replay after a restart or an abort)."""
        if offset >= self.replay_high:
            return False
        if offset in self.replay_firsts:  # the first event of an open window: its key is learned here
            self.replay_firsts.discard(offset)
            self.replay_open[tag] = offset
        first = self.replay_open.get(tag)
        return first is None or offset < first

    def read(self, offset: int) -> None:
        self.high = max(self.high, offset + 1)
        if self.high >= self.replay_high:
            self.replay_open.clear()
            self.replay_firsts.clear()

    def _pending(self) -> list[int]:
        """First offsets of the open windows, with those of the earlier run not yet read again."""
        earlier = [f for f in (*self.replay_open.values(), *self.replay_firsts) if f >= self.high]
        return sorted({*earlier, *self.open.values()})

    def commit(self) -> tuple[int, str]:
        """The offset to commit and its metadata."""
        pending = self._pending()
        offset = min([self.high, *pending])
        high = max(self.high, self.replay_high)
        if high == offset and not pending:
            return offset, ""
        items = ",".join(_b36(f - prev) for prev, f in zip([offset, *pending], pending, strict=False))
        return offset, f"{_PREFIX}:{_b36(high - offset)}:{items}"


class WindowLedger:
    """The :class:`PartitionLedger` of every partition a bridge reads; keys are ``TopicPartition``."""

    def __init__(self) -> None:
        self.partitions: dict[Any, PartitionLedger] = {}
        self._committed: dict[Any, tuple[int, str]] = {}

    def known(self, tp: Any) -> bool:
        return tp in self.partitions

    def assign(self, tp: Any, committed: Any, first_offset: int) -> None:
        """Start ``tp`` from its committed ``OffsetAndMetadata`` (None: from ``first_offset``)."""
        if committed is None or committed.offset is None or committed.offset < 0:
            self._committed[tp] = (first_offset, "")
        else:
            self._committed[tp] = (committed.offset, committed.metadata or "")
        self.partitions[tp] = PartitionLedger.from_commit(*self._committed[tp])

    def revoke(self, tps: Any) -> None:
        for tp in tps:
            self.partitions.pop(tp, None)
            self._committed.pop(tp, None)

    def offsets(self) -> dict[Any, tuple[int, str]]:
        """Offset and metadata to commit for every partition read."""
        return {tp: ledger.commit() for tp, ledger in self.partitions.items()}

    def committed(self, offsets: dict[Any, tuple[int, str]]) -> None:
        """``offsets`` are committed: a later rewind returns to them."""
        self._committed.update({tp: v for tp, v in offsets.items() if tp in self.partitions})

    def rewind(self) -> dict[Any, int]:
        """Back to the last commit (after an aborted transaction): the offset each partition is read from
        again; every partition's state is rebuilt from its commit."""
        for tp, commit in self._committed.items():
            self.partitions[tp] = PartitionLedger.from_commit(*commit)
        return {tp: offset for tp, (offset, _) in self._committed.items()}
