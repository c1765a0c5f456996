"""kafka-python clients made from a :class:`~streaming.client_config.KafkaConfig`, with latentwire's tuning.

::

    producer = make_producer(config, compression_type="zstd")     # PRODUCER_TUNING unless overridden
    consumer = make_consumer(config, "sensors", group_id="g", **BULK_READ)

Every producer latentwire makes (``produce``, both bridges, the demo, the benchmarks) starts from
:data:`PRODUCER_TUNING`: a short linger and large batches, since a poll or model batch is sent at once;
and talks to the brokers through :class:`~streaming.producer_network.ProducerNetClient`, which keeps a
transactional request to a coordinator that died waiting for the new one instead of dropping it.
"""

from __future__ import annotations

from typing import Any

from streaming.client_config import KafkaConfig

__all__ = ["BULK_READ", "PRODUCER_TUNING", "make_consumer", "make_producer"]

#: producer settings latentwire uses unless told otherwise: wait up to 5 ms to fill batches of 256 KiB
PRODUCER_TUNING: dict[str, Any] = {"linger_ms": 5, "batch_size": 256 * 1024}

#: consumer settings for reading a topic through in large polls (``consume``, the benchmarks)
BULK_READ: dict[str, Any] = {"max_poll_records": 4096, "fetch_max_bytes": 64 * 1024 * 1024}


def make_producer(config: KafkaConfig, **overrides: Any) -> Any:
    """A ``KafkaProducer`` connected as ``config`` says, with :data:`PRODUCER_TUNING` and then
    ``overrides`` (any kafka-python producer setting) applied, over a
    :class:`~streaming.producer_network.ProducerNetClient`."""
    from kafka import KafkaProducer

    from streaming.producer_network import ProducerNetClient

    settings = {"kafka_client": ProducerNetClient, **config.settings(), **PRODUCER_TUNING, **overrides}
    return KafkaProducer(**settings)


def make_consumer(config: KafkaConfig, *topics: str, **settings: Any) -> Any:
    """A ``KafkaConsumer`` of ``topics`` connected as ``config`` says, with ``settings`` (any kafka-python
    consumer setting: group, offsets, isolation; :data:`BULK_READ` for large polls)."""
    from kafka import KafkaConsumer

    return KafkaConsumer(*topics, **{**config.settings(), **settings})
