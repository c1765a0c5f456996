"""One Kafka event as the event coder sees it: value, key, timestamp and headers."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Event"]


@dataclass(frozen=True, slots=True)
class Event:
    """One Kafka record.

    Parameters: ``value`` (bytes, None for a tombstone), ``key`` (bytes or None), ``timestamp`` (ms since
    the epoch), ``headers`` (``(str, bytes)`` pairs, in order).
    """

    value: bytes | None
    key: bytes | None = None
    timestamp: int = 0
    headers: tuple[tuple[str, bytes], ...] = field(default_factory=tuple)
