"""Kafka producers for latentwire: a kafka-python Serializer and a batching producer."""

from producers.batching import BatchingProducer, SendReport
from producers.serializer import LatentSerializer

__all__ = ["BatchingProducer", "LatentSerializer", "SendReport"]
