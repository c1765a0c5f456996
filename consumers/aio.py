"""An aiokafka ``value_deserializer`` that turns a latentwire envelope back into a NumPy record
(``pip install latentwire[aiokafka]``).

::

    consumer = AIOKafkaConsumer("sensors", value_deserializer=AioDeserializer(resolver, topic="sensors"))
    async for message in consumer:
        values = message.value                       # float32 array of the record's true length

aiokafka calls the deserializer with the value alone, so ``topic`` names the metrics label. Per record,
as :class:`consumers.record_decoder.RecordDecoder`. For whole batches, consume raw bytes and hand
``getmany()``'s lists to :meth:`consumers.BatchingConsumer.decode_messages`.
"""

from __future__ import annotations

import numpy as np

from consumers.record_decoder import ARGUMENTS, RecordDecoder

__all__ = ["AioDeserializer"]


class AioDeserializer(RecordDecoder):
    __doc__ = f"""An aiokafka ``value_deserializer``: ``deserializer(value)``.
    {ARGUMENTS}"""

    def __call__(self, value: bytes | None) -> np.ndarray | None:
        return self.decode_one(None, value)
