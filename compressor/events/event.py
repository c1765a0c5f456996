"""One Kafka event as the event coder sees it: value, key, timestamp and headers."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Event"]


@dataclass(frozen=True, slots=True)
class Event:
    """One Kafka record.

    Parameters:
        value (bytes | None): the record value; None for a tombstone.
        key (bytes | None): the record key. Default: None.
        timestamp (int): milliseconds since the epoch. Default: 0.
        headers (tuple): ``(str, bytes)`` pairs, in order. Default: none.
    """

    value: bytes | None
    key: bytes | None = None
    timestamp: int = 0
    headers: tuple[tuple[str, bytes], ...] = field(default_factory=tuple)
