"""Count the bytes a kafka-python client really sends to brokers.

kafka-python's ``bytes-sent`` sensor only exposes rates; we add a cumulative ``Total`` stat to it, so the
figure includes Kafka's own batch compression, headers and protocol framing: what crosses the network.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["OutgoingBytes"]


class OutgoingBytes:
    """Cumulative bytes sent by one KafkaProducer or KafkaConsumer since this object was made.

    Arguments:
        client (KafkaProducer | KafkaConsumer): the client whose sent bytes are read (reads 0 when its
            metrics are disabled).
    """

    def __init__(self, client: Any) -> None:
        from kafka.metrics.stats import Total

        self._metric = None
        self._start = 0.0
        metrics = getattr(client, "_metrics", None)
        if metrics is None:
            log.warning("this Kafka client has metrics disabled; wire bytes will read as 0")
            return
        sensor = metrics.sensor("bytes-sent")
        name = metrics.metric_name("outgoing-byte-total", "latentwire", "Total bytes sent to all brokers.")
        self._metric = metrics.metrics.get(name)
        if self._metric is None:
            sensor.add(name, Total())
            self._metric = metrics.metrics.get(name)
        self._start = self._read()

    def _read(self) -> float:
        return float(self._metric.value()) if self._metric is not None else 0.0

    @property
    def total(self) -> int:
        return int(self._read() - self._start)
