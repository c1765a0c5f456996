"""A quix-streams deserializer that turns a latentwire envelope back into a NumPy record
(``pip install latentwire[quix]``).

::

    app = Application(broker_address=..., consumer_group="restore")
    packed = app.topic("sensors.latent", value_deserializer=QuixDeserializer(ModelResolver(["model/"])))
    restored = app.topic("sensors.restored", value_serializer="json")
    app.dataframe(packed).apply(lambda values: {"values": values.tolist()}).to_topic(restored)

Per record, as :class:`consumers.record_decoder.RecordDecoder`; quix-streams hands a
:class:`compressor.errors.DeserializationError` to the application's ``on_consumer_error``.
"""

from __future__ import annotations

import numpy as np
from quixstreams.models.serializers import Deserializer, SerializationContext

from consumers.record_decoder import ARGUMENTS, RecordDecoder

__all__ = ["QuixDeserializer"]


class QuixDeserializer(RecordDecoder, Deserializer):
    __doc__ = f"""A quix-streams ``value_deserializer``: ``deserializer(value, ctx)``.
    {ARGUMENTS}"""

    def __call__(self, value: bytes | None, ctx: SerializationContext) -> np.ndarray | None:
        return self.decode_one(ctx.topic, value)
