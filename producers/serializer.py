"""A kafka-python ``Serializer`` that turns one record into a latentwire envelope.

For people who already own a ``KafkaProducer``::

    producer = KafkaProducer(value_serializer=LatentSerializer(load_bundle("model/")))
    producer.send("sensors", values)          # values: D numbers (list or NumPy array)

Each call encodes one record (see :class:`producers.record_encoder.RecordEncoder`); for the highest
throughput use :class:`producers.BatchingProducer`. ``None`` passes through as a tombstone. Errors are
:class:`compressor.errors.DataError` (a ``ValueError``), never a ``TypeError``, which kafka-python would
take for an old-style serializer and retry.
"""

from __future__ import annotations

from typing import Any

from kafka.serializer import Serializer

from producers.record_encoder import ARGUMENTS, RecordEncoder

__all__ = ["LatentSerializer"]


class LatentSerializer(RecordEncoder, Serializer):
    __doc__ = f"""A kafka-python ``value_serializer``: ``serialize(topic, headers, data)``.
    {ARGUMENTS}"""

    def serialize(self, topic: str, headers: Any = None, data: Any = None) -> bytes | None:
        return self.encode_one(topic, data)
