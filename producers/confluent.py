"""A confluent-kafka ``Serializer`` that turns one record into a latentwire envelope
(``pip install latentwire[confluent]``).

::

    producer = SerializingProducer({"bootstrap.servers": ..., "value.serializer": ConfluentSerializer(bundle)})
    producer.produce("sensors", value=values)          # values: D numbers (list or NumPy array)

    plain = Producer({"bootstrap.servers": ...})       # or call it yourself
    plain.produce("sensors", serializer(values, SerializationContext("sensors", MessageField.VALUE)))

Per record, as :class:`producers.record_encoder.RecordEncoder`; for whole batches hand a
``confluent_kafka.Producer`` to :class:`producers.BatchingProducer` instead. ``SerializingProducer``
wraps a refused record's :class:`compressor.errors.DataError` in its ``ValueSerializationError``.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka.serialization import SerializationContext, Serializer

from producers.record_encoder import ARGUMENTS, RecordEncoder

__all__ = ["ConfluentSerializer"]


class ConfluentSerializer(RecordEncoder, Serializer):
    __doc__ = f"""A confluent-kafka ``value.serializer``: ``serializer(obj, ctx)``.
    {ARGUMENTS}"""

    def __call__(self, obj: Any, ctx: SerializationContext | None = None) -> bytes | None:
        return self.encode_one(None if ctx is None else ctx.topic, obj)
