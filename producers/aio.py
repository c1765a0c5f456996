"""An aiokafka ``value_serializer`` that turns one record into a latentwire envelope
(``pip install latentwire[aiokafka]``).

::

    producer = AIOKafkaProducer(bootstrap_servers=..., value_serializer=AioSerializer(bundle, topic="sensors"))
    await producer.send_and_wait("sensors", values)      # values: D numbers (list or NumPy array)

aiokafka calls the serializer with the value alone, so ``topic`` names the metrics label. Per record, as
:class:`producers.record_encoder.RecordEncoder`; a refused record raises its
:class:`compressor.errors.DataError` from ``send``. For whole batches, encode with
``Codec.encode_payloads`` and send the envelopes with a producer that has no value serializer.
"""

from __future__ import annotations

from typing import Any

from producers.record_encoder import ARGUMENTS, RecordEncoder

__all__ = ["AioSerializer"]


class AioSerializer(RecordEncoder):
    __doc__ = f"""An aiokafka ``value_serializer``: ``serializer(value)``.
    {ARGUMENTS}"""

    def __call__(self, value: Any) -> bytes | None:
        return self.encode_one(None, value)
