"""A kafka-python ``Deserializer`` that turns a latentwire envelope back into a NumPy record.

::

    consumer = KafkaConsumer("sensors", value_deserializer=LatentDeserializer(ModelResolver(["model/"])))
    for message in consumer:
        values = message.value                       # float32 array of the record's true length

Failures raise :class:`DeserializationError` naming topic and cause (kafka-python does not know
the partition and offset at this point; :class:`consumers.BatchingConsumer` reports those too).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from kafka.serializer import Deserializer

from compressor.envelope import unpack
from compressor.errors import DeserializationError, LatentwireError
from consumers.resolver import ModelResolver
from streaming.metrics import ConsumerMetrics

__all__ = ["DeserializationError", "LatentDeserializer"]


class LatentDeserializer(Deserializer):
    """A kafka-python ``value_deserializer``: a latentwire envelope in, a float32 record out (``None``
    passes through). Failures raise :class:`DeserializationError`.

    Arguments:
        resolver (ModelResolver): finds the decoder for each model id.
        metrics (ConsumerMetrics | None): where decodes and failures are counted.
            Default: None, the instance shared on the default Prometheus registry.
    """

    def __init__(self, resolver: ModelResolver, *, metrics: ConsumerMetrics | None = None) -> None:
        self.resolver = resolver
        self.metrics = metrics or ConsumerMetrics.get()

    def deserialize(self, topic: str, headers: Any = None, data: bytes | None = None) -> np.ndarray | None:
        if data is None:
            return None
        try:
            envelope = unpack(data)
            codec = self.resolver.codec(envelope.model_id)
            started = time.perf_counter()
            values = codec.decode([envelope])[0]
        except LatentwireError as exc:
            self.metrics.errors.labels(topic, exc.kind).inc()
            raise DeserializationError(f"cannot decode a value from topic {topic}: {exc}", exc, data) from exc
        labels = (topic, codec.model_id[:8])
        self.metrics.decode_seconds.labels(*labels).observe(time.perf_counter() - started)
        self.metrics.records.labels(*labels).inc()
        self.metrics.payload_bytes.labels(*labels).inc(len(data))
        self.metrics.decoded_bytes.labels(*labels).inc(4 * values.size)
        return values
