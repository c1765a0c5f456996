"""A kafka-python ``Deserializer`` that turns a latentwire envelope back into a NumPy record.

::

    consumer = KafkaConsumer("sensors", value_deserializer=LatentDeserializer(ModelResolver(["model/"])))
    for message in consumer:
        values = message.value                       # float32 array of the record's true length

Failures raise :class:`DeserializationError` naming topic and cause (kafka-python does not know
the partition and offset at this point; :class:`consumers.BatchingConsumer` reports those too).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from kafka.serializer import Deserializer

from compressor.errors import DeserializationError
from consumers.record_decoder import ARGUMENTS, RecordDecoder

__all__ = ["DeserializationError", "LatentDeserializer"]


class LatentDeserializer(RecordDecoder, Deserializer):
    __doc__ = f"""A kafka-python ``value_deserializer``: ``deserialize(topic, headers, data)``.
    {ARGUMENTS}"""

    def deserialize(self, topic: str, headers: Any = None, data: bytes | None = None) -> np.ndarray | None:
        return self.decode_one(topic, data)
