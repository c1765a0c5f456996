"""Kafka producers for latentwire: a kafka-python Serializer and a batching producer.

Exports load on first use, so the event bridge (``producers.event_compress``) starts without Keras.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BatchingProducer", "LatentSerializer", "SendReport"]

_WHERE = {"BatchingProducer": "batching", "SendReport": "batching", "LatentSerializer": "serializer"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'producers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"producers.{_WHERE[name]}"), name)
