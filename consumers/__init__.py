"""Kafka consumers for latentwire: a kafka-python Deserializer and a batching consumer."""

from consumers.batching import BatchingConsumer, DecodedRecord, FailedRecord
from consumers.deserializer import LatentDeserializer
from consumers.resolver import ModelResolver

__all__ = ["BatchingConsumer", "DecodedRecord", "FailedRecord", "LatentDeserializer", "ModelResolver"]
