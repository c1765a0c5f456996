"""The kafka-python Serializer/Deserializer pair, without a broker, and the metrics they count."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from compressor.errors import NonFiniteError, ShapeError
from consumers.deserializer import DeserializationError, LatentDeserializer
from consumers.resolver import ModelResolver
from producers.serializer import LatentSerializer
from streaming.metrics import ConsumerMetrics, ProducerMetrics


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_round_trip_and_metrics(digits_bundle, digits: np.ndarray, registry: CollectorRegistry) -> None:
    ser = LatentSerializer(digits_bundle, metrics=ProducerMetrics.get(registry))
    de = LatentDeserializer(ModelResolver([digits_bundle]), metrics=ConsumerMetrics.get(registry))
    payloads = [ser.serialize("t", [], row) for row in digits[:20]]
    values = [de.deserialize("t", [], p) for p in payloads]
    assert all(v.shape == (64,) and v.dtype == np.float32 for v in values)
    model = digits_bundle.model_id[:8]
    labels = {"topic": "t", "model": model}
    assert registry.get_sample_value("latentwire_producer_records_total", labels) == 20
    assert registry.get_sample_value("latentwire_producer_raw_bytes_total", labels) == 20 * 64 * 4
    assert registry.get_sample_value("latentwire_producer_payload_bytes_total", labels) == sum(
        map(len, payloads)
    )
    assert registry.get_sample_value("latentwire_consumer_records_total", labels) == 20


def test_tombstones_pass_through(digits_bundle) -> None:
    assert LatentSerializer(digits_bundle).serialize("t", [], None) is None
    assert LatentDeserializer(ModelResolver([digits_bundle])).deserialize("t", [], None) is None


def test_short_record_is_padded_and_restored(digits_bundle, digits: np.ndarray) -> None:
    ser, de = LatentSerializer(digits_bundle), LatentDeserializer(ModelResolver([digits_bundle]))
    assert de.deserialize("t", [], ser.serialize("t", [], digits[0, :10])).shape == (10,)


def test_bad_values_raise_value_errors_not_type_errors(digits_bundle, registry: CollectorRegistry) -> None:
    ser = LatentSerializer(digits_bundle, metrics=ProducerMetrics.get(registry))
    with pytest.raises(ShapeError):
        ser.serialize("t", [], np.zeros(65))
    with pytest.raises(NonFiniteError):
        ser.serialize("t", [], np.full(64, np.nan))
    with pytest.raises(ValueError):
        ser.serialize("t", [], {"not": "a record"})
    assert (
        registry.get_sample_value("latentwire_producer_errors_total", {"topic": "t", "kind": "wrong_shape"})
        == 1
    )
    assert (
        registry.get_sample_value("latentwire_producer_errors_total", {"topic": "t", "kind": "non_finite"})
        == 1
    )


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"plain text", "bad_magic"),
        (b"\xc1\x10\xde\xad\xbe\xef\xc4\x01x", "unknown_model"),
        (b"\xc1\x10", "truncated"),
        (b"\xc1\x70abcd\xc4\x01x", "unsupported_version"),
    ],
)
def test_undecodable_values_raise_with_their_kind(
    digits_bundle, registry: CollectorRegistry, data: bytes, kind: str
) -> None:
    de = LatentDeserializer(ModelResolver([digits_bundle]), metrics=ConsumerMetrics.get(registry))
    with pytest.raises(DeserializationError, match="topic t") as info:
        de.deserialize("t", [], data)
    assert info.value.kind == kind
    assert registry.get_sample_value("latentwire_consumer_errors_total", {"topic": "t", "kind": kind}) == 1


def test_resolver_finds_bundles_in_a_directory(digits_bundle_dir, digits_bundle) -> None:
    resolver = ModelResolver(model_dirs=[digits_bundle_dir.parent])
    assert resolver.codec(digits_bundle.wire_id).model_id == digits_bundle.model_id
