"""Dead-letter records: what could not be processed, why, and where it came from, as Kafka headers."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from compressor.errors import LatentwireError

__all__ = ["dead_letter_headers", "raw_value"]


def dead_letter_headers(
    error: BaseException,
    *,
    source_topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    index: int | None = None,
) -> list[tuple[str, bytes]]:
    kind = error.kind if isinstance(error, LatentwireError) else type(error).__name__
    headers = [
        ("latentwire.error", str(error).encode()[:4096]),
        ("latentwire.error.kind", kind.encode()),
    ]
    for name, value in (
        ("latentwire.source.topic", source_topic),
        ("latentwire.source.partition", partition),
        ("latentwire.source.offset", offset),
        ("latentwire.source.index", index),
    ):
        if value is not None:
            headers.append((name, str(value).encode()))
    return headers


def raw_value(data: Any) -> bytes:
    """The refused record as bytes the dead-letter topic can hold (JSON where possible)."""
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if isinstance(data, np.ndarray):
        data = data.tolist()
    try:
        return json.dumps(data, allow_nan=True).encode()
    except (TypeError, ValueError):
        return repr(data).encode()
