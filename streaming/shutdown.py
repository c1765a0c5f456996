"""Graceful shutdown: SIGTERM and SIGINT set a flag that long loops check between batches."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

__all__ = ["StopFlag"]

log = logging.getLogger(__name__)


class StopFlag:
    """``with StopFlag() as stop: while not stop: ...``; a second signal exits at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._previous: dict[int, object] = {}

    def __bool__(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt
        log.warning("received %s: finishing the current batch, then stopping", signal.Signals(signum).name)
        self._event.set()

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
