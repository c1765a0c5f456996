"""One record in, one envelope out, with the producer metrics: the core of every per-record serializer.

The adapters for each Kafka client (kafka-python, confluent-kafka, aiokafka, quix-streams) only map their
calling convention onto :meth:`RecordEncoder.encode_one`. ``None`` passes through as a tombstone; a record
that cannot be encoded raises a :class:`compressor.errors.DataError` (a ``ValueError``, never a
``TypeError``) and is counted in ``latentwire_producer_errors_total``.
"""

from __future__ import annotations

import time
from typing import Any

from compressor.bundle import Bundle
from compressor.codec import Codec
from compressor.data import pad_tail
from compressor.error_bound import ErrorBound
from compressor.errors import DataError
from compressor.validation import as_record
from streaming.metrics import ProducerMetrics

__all__ = ["ARGUMENTS", "RecordEncoder"]


#: the constructor's arguments, shared by every adapter's docstring (they all take exactly these)
ARGUMENTS = """
    Arguments:
        model (Bundle | Codec): the bundle to encode with, or a codec made from one.
        error_bound (ErrorBound | float | None): the error bound when ``model`` is a bundle (a codec
            keeps its own): an :class:`~compressor.error_bound.ErrorBound`, or an absolute bound as a
            plain number. Default: None, fixed-rate coding.
        metrics (ProducerMetrics | None): where records and failures are counted.
            Default: None, the instance shared on the default Prometheus registry.
        topic (str): the ``topic`` metrics label when the client does not say which topic a value is for
            (aiokafka's ``value_serializer``, a call without a context). Default: "".
"""


class RecordEncoder:
    __doc__ = f"""Encode single records of one model into envelopes and count them: one record (D numbers,
    or fewer) in, an envelope out (``None`` passes through); bad records raise
    :class:`compressor.errors.DataError`.
    {ARGUMENTS}"""

    def __init__(
        self,
        model: Bundle | Codec,
        *,
        error_bound: ErrorBound | float | None = None,
        metrics: ProducerMetrics | None = None,
        topic: str = "",
    ) -> None:
        self.codec = model if isinstance(model, Codec) else Codec(model, error_bound=error_bound)
        self.metrics = metrics or ProducerMetrics.get()
        self.topic = topic
        self._model = self.codec.model_id[:8]
        self._lossless_escapes = self.codec.is_bounded
        self._record_size = self.codec.record_size
        bundle = self.codec.bundle
        self._channels = bundle.channels if bundle.window > 1 else 1
        # per topic: the labelled children, so a record costs no label lookups
        self._children: dict[str, tuple[Any, Any, Any, Any]] = {}

    def encode_one(self, topic: str | None, data: Any) -> bytes | None:
        """The envelope of one record (D numbers, or fewer: padded, and restored to its length)."""
        if data is None:
            return None
        topic = self.topic if topic is None else topic
        try:
            record = as_record(
                data, self._record_size, allow_short=True, allow_non_finite=self._lossless_escapes
            )
            length = record.shape[0]
            if length < self._record_size:
                record = pad_tail(record, self._record_size, channels=self._channels)
        except DataError as exc:
            self.metrics.errors.labels(topic, exc.kind).inc()
            raise
        started = time.perf_counter()
        payload = self.codec.encode_one(record, length)
        seconds, records, raw, payload_bytes = self._for_topic(topic)
        seconds.observe(time.perf_counter() - started)
        records.inc()
        raw.inc(4 * length)
        payload_bytes.inc(len(payload))
        return payload

    def _for_topic(self, topic: str) -> tuple[Any, Any, Any, Any]:
        children = self._children.get(topic)
        if children is None:
            m, labels = self.metrics, (topic, self._model)
            children = (
                m.encode_seconds.labels(*labels),
                m.records.labels(*labels),
                m.raw_bytes.labels(*labels),
                m.payload_bytes.labels(*labels),
            )
            self._children[topic] = children
        return children
