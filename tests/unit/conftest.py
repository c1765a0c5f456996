"""Fixtures shared by the unit tests."""

from __future__ import annotations

from typing import Any

import pytest


class RecordingProducer:
    """Just enough of KafkaProducer: remembers sends, every future already succeeded."""

    class Future:
        is_done = True

        def failed(self) -> bool:
            return False

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, list]] = []

    def send(self, topic: str, value: Any = None, key: Any = None, headers: Any = None) -> Future:
        self.sent.append((topic, value, headers or []))
        return self.Future()

    def flush(self, timeout: float | None = None) -> None:
        pass


@pytest.fixture
def recording_producer() -> RecordingProducer:
    """A stand-in for KafkaProducer that records what was sent (topic, value, headers)."""
    return RecordingProducer()
