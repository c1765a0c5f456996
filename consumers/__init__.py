"""Kafka consumers for latentwire: a kafka-python Deserializer and a batching consumer.

Exports load on first use, so the event bridge (``consumers.event_decompress``) starts without Keras.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BatchingConsumer", "DecodedRecord", "FailedRecord", "LatentDeserializer", "ModelResolver"]

_WHERE = {
    "BatchingConsumer": "batching",
    "DecodedRecord": "batching",
    "FailedRecord": "batching",
    "LatentDeserializer": "deserializer",
    "ModelResolver": "resolver",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'consumers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"consumers.{_WHERE[name]}"), name)
