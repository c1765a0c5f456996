"""A kafka-python ``Serializer`` that turns one record into a latentwire envelope.

For people who already own a ``KafkaProducer``::

    producer = KafkaProducer(value_serializer=LatentSerializer(load_bundle("model/")))
    producer.send("sensors", values)          # values: D numbers (list or NumPy array)

Each call encodes one record; a dense model runs as NumPy matrix products, so this costs tens of
microseconds. For the highest throughput use :class:`producers.BatchingProducer`. ``None`` passes
through as a tombstone. Errors are :class:`compressor.errors.DataError` (a ``ValueError``), never a
``TypeError``, which kafka-python would take for an old-style serializer and retry.
"""

from __future__ import annotations

import time
from typing import Any

from kafka.serializer import Serializer

from compressor.bundle import Bundle
from compressor.codec import Codec
from compressor.error_bound import ErrorBound
from compressor.errors import DataError
from compressor.validation import as_record
from streaming.metrics import ProducerMetrics

__all__ = ["LatentSerializer"]


class LatentSerializer(Serializer):
    """A kafka-python ``value_serializer``: one record (D numbers) in, a latentwire envelope out
    (``None`` passes through). Bad records raise :class:`compressor.errors.DataError`.

    Arguments:
        model (Bundle | Codec): the bundle to encode with, or a codec made from one.
        error_bound (ErrorBound | float | None): the error bound when ``model`` is a bundle (a codec
            keeps its own): an :class:`~compressor.error_bound.ErrorBound`, or an absolute bound as a
            plain number. Default: None, fixed-rate coding.
        metrics (ProducerMetrics | None): where records and failures are counted.
            Default: None, the instance shared on the default Prometheus registry.
    """

    def __init__(
        self,
        model: Bundle | Codec,
        *,
        error_bound: ErrorBound | float | None = None,
        metrics: ProducerMetrics | None = None,
    ) -> None:
        self.codec = model if isinstance(model, Codec) else Codec(model, error_bound=error_bound)
        self.metrics = metrics or ProducerMetrics.get()
        self._model = self.codec.model_id[:8]

    def serialize(self, topic: str, headers: Any = None, data: Any = None) -> bytes | None:
        if data is None:
            return None
        try:
            record = as_record(
                data, self.codec.record_size, allow_short=True, allow_non_finite=self._lossless_escapes
            )
        except DataError as exc:
            self.metrics.errors.labels(topic, exc.kind).inc()
            raise
        length = record.shape[0]
        if length < self.codec.record_size:
            from compressor.data import pad_tail

            channels = self.codec.bundle.channels if self.codec.bundle.window > 1 else 1
            record = pad_tail(record, self.codec.record_size, channels=channels)
        started = time.perf_counter()
        encoded = self.codec.encode(record[None, :], [length])
        payload = encoded.payloads[0]
        m, labels = self.metrics, (topic, self._model)
        m.encode_seconds.labels(*labels).observe(time.perf_counter() - started)
        m.records.labels(*labels).inc()
        m.raw_bytes.labels(*labels).inc(4 * length)
        m.payload_bytes.labels(*labels).inc(len(payload))
        return payload

    @property
    def _lossless_escapes(self) -> bool:
        return self.codec.is_bounded
