"""A confluent-kafka ``Deserializer`` that turns a latentwire envelope back into a NumPy record
(``pip install latentwire[confluent]``).

::

    consumer = DeserializingConsumer({..., "value.deserializer": ConfluentDeserializer(ModelResolver(["model/"]))})
    values = consumer.poll(1.0).value()                 # float32 array of the record's true length

Per record, as :class:`consumers.record_decoder.RecordDecoder`; ``DeserializingConsumer`` wraps a
:class:`compressor.errors.DeserializationError` in its ``ValueDeserializationError`` with the
message attached. For whole batches, hand ``Consumer.consume(num_messages=...)`` to
:meth:`consumers.BatchingConsumer.decode_messages` (one model call per model id, dead letters included).
"""

from __future__ import annotations

import numpy as np
from confluent_kafka.serialization import Deserializer, SerializationContext

from consumers.record_decoder import ARGUMENTS, RecordDecoder

__all__ = ["ConfluentDeserializer"]


class ConfluentDeserializer(RecordDecoder, Deserializer):
    __doc__ = f"""A confluent-kafka ``value.deserializer``: ``deserializer(value, ctx)``.
    {ARGUMENTS}"""

    def __call__(self, value: bytes | None, ctx: SerializationContext | None = None) -> np.ndarray | None:
        return self.decode_one(None if ctx is None else ctx.topic, value)
