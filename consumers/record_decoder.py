"""One envelope in, one record out, with the consumer metrics: the core of every per-record deserializer.

The adapters for each Kafka client (kafka-python, confluent-kafka, aiokafka, quix-streams) only map their
calling convention onto :meth:`RecordDecoder.decode_one`. ``None`` passes through as a tombstone; a value
that cannot be decoded raises a ``ValueError`` naming the topic and the
typed cause (:class:`compressor.errors.DeserializationError`), and is counted in ``latentwire_consumer_errors_total``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from compressor.envelope import unpack
from compressor.errors import DeserializationError, LatentwireError
from consumers.resolver import ModelResolver
from streaming.metrics import ConsumerMetrics

__all__ = ["ARGUMENTS", "RecordDecoder"]


#: the constructor's arguments, shared by every adapter's docstring (they all take exactly these)
ARGUMENTS = """
    Arguments:
        resolver (ModelResolver): finds the decoder for each model id.
        metrics (ConsumerMetrics | None): where decodes and failures are counted.
            Default: None, the instance shared on the default Prometheus registry.
        topic (str): the ``topic`` metrics label when the client does not say which topic a value came
            from (aiokafka's ``value_deserializer``, a call without a context). Default: "".
"""


class RecordDecoder:
    __doc__ = f"""Decode single envelopes, finding each one's model by the id it carries, and count them: an
    envelope in, a float32 record of its true length out (``None`` passes through); failures raise
    :class:`compressor.errors.DeserializationError`.
    {ARGUMENTS}"""

    def __init__(
        self, resolver: ModelResolver, *, metrics: ConsumerMetrics | None = None, topic: str = ""
    ) -> None:
        self.resolver = resolver
        self.metrics = metrics or ConsumerMetrics.get()
        self.topic = topic
        # per (topic, model id): the labelled children, so a record costs no label lookups
        self._children: dict[tuple[str, str], tuple[Any, Any, Any, Any]] = {}

    def decode_one(self, topic: str | None, data: bytes | None) -> np.ndarray | None:
        """The float32 values of one envelope, trimmed to the record's true length."""
        if data is None:
            return None
        topic = self.topic if topic is None else topic
        try:
            envelope = unpack(data)
            codec = self.resolver.codec(envelope.model_id)
            started = time.perf_counter()
            values = codec.decode_one(envelope)
        except LatentwireError as exc:
            self.metrics.errors.labels(topic, exc.kind).inc()
            raise DeserializationError(f"cannot decode a value from topic {topic}: {exc}", exc, data) from exc
        seconds, records, payload, decoded = self._for(topic, codec.model_id)
        seconds.observe(time.perf_counter() - started)
        records.inc()
        payload.inc(len(data))
        decoded.inc(4 * values.size)
        return values

    def _for(self, topic: str, model_id: str) -> tuple[Any, Any, Any, Any]:
        children = self._children.get((topic, model_id))
        if children is None:
            m, labels = self.metrics, (topic, model_id[:8])
            children = (
                m.decode_seconds.labels(*labels),
                m.records.labels(*labels),
                m.payload_bytes.labels(*labels),
                m.decoded_bytes.labels(*labels),
            )
            self._children[(topic, model_id)] = children
        return children
