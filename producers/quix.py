"""A quix-streams serializer that turns one record into a latentwire envelope
(``pip install latentwire[quix]``).

::

    app = Application(broker_address=..., consumer_group="compress")
    raw = app.topic("sensors", value_deserializer="json")
    packed = app.topic("sensors.latent", value_serializer=QuixSerializer(bundle))
    app.dataframe(raw).apply(lambda row: row["values"]).to_topic(packed)

Per record, as :class:`producers.record_encoder.RecordEncoder`; quix-streams wraps a refused record's
:class:`compressor.errors.DataError` in its ``SerializationError`` and hands it to the application's
``on_producer_error``/``on_processing_error`` callbacks.
"""

from __future__ import annotations

from typing import Any

from quixstreams.models.serializers import SerializationContext, Serializer

from producers.record_encoder import ARGUMENTS, RecordEncoder

__all__ = ["QuixSerializer"]


class QuixSerializer(RecordEncoder, Serializer):
    __doc__ = f"""A quix-streams ``value_serializer``: ``serializer(value, ctx)``.
    {ARGUMENTS}"""

    def __call__(self, value: Any, ctx: SerializationContext) -> bytes | None:
        return self.encode_one(ctx.topic, value)
