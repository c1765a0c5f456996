"""Which input offsets a bridge may commit while events wait in windows, and how a restart rebuilds them.

A bridge that gathers the events of each key into windows produces a window only when it is full or old,
so at any commit some events of a partition are read but not yet produced. Committing the offset after the
last event read would lose them in a crash; committing the offset of the oldest open window would repeat
every event produced since. The ledger commits the smallest first offset ``C`` of any open window (or the
offset after the last event read when none is open) and writes into the commit's metadata what a restart
needs to tell the two apart::

    lw1:<H - C>:<tag><f - C>,<tag><f - C>,...        (offsets in base 36)

``H`` is the offset after the last event read; ``tag`` names a key (8 characters of a hash of it) whose
window is open, ``f`` its first offset. Reading from ``C`` again, an event at offset ``o < H`` was already
produced (in a window or alone) unless its key has an open window and ``o >= f``: those events are
gathered again into the same windows. So a window is never half committed, and every event is produced
once. Events produced alone (tombstones, pass-through) are produced only while their key has no open
window, which keeps the rule true. The metadata grows with the open windows: a bridge keeps at most
:data:`MAX_OPEN` per partition (Kafka's default limit on commit metadata is 4096 bytes).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_OPEN", "PartitionLedger", "WindowLedger", "key_tag"]

MAX_OPEN = 256
_PREFIX = "lw1"
_TAG = 8


def key_tag(key: bytes | None) -> str:
    """8 characters naming a key in commit metadata (a null key and an empty key differ)."""
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
        replay_open (dict[str, int]): the earlier run's open windows, key tag -> first offset. Default: none.
        high (int): the offset after the last event read; at least ``start``. Default: -1, ``start``.
        open (dict[str, int]): this run's open windows, key tag -> first offset (kept by the bridge).
            Default: none.
    """

    start: int
    replay_high: int = 0
    replay_open: dict[str, int] = field(default_factory=dict)
    high: int = -1
    open: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.high = max(self.high, self.start)

    @classmethod
    def from_commit(cls, offset: int, metadata: str) -> PartitionLedger:
        """The ledger a committed offset and its metadata describe (metadata of another writer: none)."""
        parts = (metadata or "").split(":")
        if len(parts) != 3 or parts[0] != _PREFIX:
            return cls(offset)
        try:
            high = offset + int(parts[1], 36)
            opened = {item[:_TAG]: offset + int(item[_TAG:], 36) for item in parts[2].split(",") if item}
        except ValueError:
            return cls(offset)
        return cls(offset, high, opened)

    def replayed(self, offset: int, tag: str) -> bool:
        """True if the event at ``offset`` was produced before (a replay after a restart or an abort)."""
        if offset >= self.replay_high:
            return False
        first = self.replay_open.get(tag)
        return first is None or offset < first

    def read(self, offset: int) -> None:
        self.high = max(self.high, offset + 1)
        if self.high >= self.replay_high:
            self.replay_open.clear()

    def _pending(self) -> dict[str, int]:
        """Open windows, with those of the earlier run not yet read again."""
        pending = {t: f for t, f in self.replay_open.items() if f >= self.high}
        pending.update(self.open)
        return pending

    def commit(self) -> tuple[int, str]:
        """The offset to commit and its metadata."""
        pending = self._pending()
        offset = min([self.high, *pending.values()])
        high = max(self.high, self.replay_high)
        if high == offset and not pending:
            return offset, ""
        items = ",".join(t + _b36(f - offset) for t, f in sorted(pending.items(), key=lambda kv: kv[1]))
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
