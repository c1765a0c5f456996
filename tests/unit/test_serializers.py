"""The per-record serializer/deserializer pairs of every client (kafka-python, confluent-kafka, aiokafka,
quix-streams), without a broker, and the metrics they count: one core, so every adapter must behave alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from compressor.codec import Codec
from compressor.errors import NonFiniteError, ShapeError
from consumers.deserializer import DeserializationError, LatentDeserializer
from consumers.resolver import ModelResolver
from producers.serializer import LatentSerializer
from streaming.metrics import ConsumerMetrics, ProducerMetrics


@dataclass(frozen=True)
class Adapter:
    """How one client builds and calls a serializer and a deserializer for topic ``t``."""

    serializer: Callable[..., Any]
    serialize: Callable[[Any, Any], bytes | None]
    deserializer: Callable[..., Any]
    deserialize: Callable[[Any, bytes | None], np.ndarray | None]


def _kafka_python() -> Adapter:
    return Adapter(
        LatentSerializer,
        lambda s, v: s.serialize("t", [], v),
        LatentDeserializer,
        lambda d, b: d.deserialize("t", [], b),
    )


def _confluent() -> Adapter:
    serialization = pytest.importorskip("confluent_kafka.serialization")
    from consumers.confluent import ConfluentDeserializer
    from producers.confluent import ConfluentSerializer

    ctx = serialization.SerializationContext("t", serialization.MessageField.VALUE)
    return Adapter(ConfluentSerializer, lambda s, v: s(v, ctx), ConfluentDeserializer, lambda d, b: d(b, ctx))


def _aiokafka() -> Adapter:
    pytest.importorskip("aiokafka")
    from consumers.aio import AioDeserializer
    from producers.aio import AioSerializer

    return Adapter(
        lambda model, **kw: AioSerializer(model, topic="t", **kw),
        lambda s, v: s(v),
        lambda resolver, **kw: AioDeserializer(resolver, topic="t", **kw),
        lambda d, b: d(b),
    )


def _quix() -> Adapter:
    serializers = pytest.importorskip("quixstreams.models.serializers")
    from consumers.quix import QuixDeserializer
    from producers.quix import QuixSerializer

    ctx = serializers.SerializationContext("t", serializers.MessageField.VALUE)
    return Adapter(
        QuixSerializer, lambda s, v: s(v, ctx=ctx), QuixDeserializer, lambda d, b: d(value=b, ctx=ctx)
    )


@pytest.fixture(params=["kafka-python", "confluent", "aiokafka", "quix"])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    return {"kafka-python": _kafka_python, "confluent": _confluent, "aiokafka": _aiokafka, "quix": _quix}[
        request.param
    ]()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_round_trip_and_metrics(
    adapter: Adapter, digits_bundle, digits: np.ndarray, registry: CollectorRegistry
) -> None:
    ser = adapter.serializer(digits_bundle, metrics=ProducerMetrics.get(registry))
    de = adapter.deserializer(ModelResolver([digits_bundle]), metrics=ConsumerMetrics.get(registry))
    payloads = [adapter.serialize(ser, row) for row in digits[:20]]
    values = [adapter.deserialize(de, p) for p in payloads]
    assert all(v.shape == (64,) and v.dtype == np.float32 for v in values)
    # the same bytes as the batch codec, and decoded to what it says the consumer gets (up to the float
    # rounding of a one-row matrix product against a 20-row one)
    encoded = Codec(digits_bundle).encode(digits[:20])
    assert payloads == encoded.payloads
    np.testing.assert_allclose(np.stack(values), encoded.decoded, rtol=1e-5, atol=1e-5)
    model = digits_bundle.model_id[:8]
    labels = {"topic": "t", "model": model}
    assert registry.get_sample_value("latentwire_producer_records_total", labels) == 20
    assert registry.get_sample_value("latentwire_producer_raw_bytes_total", labels) == 20 * 64 * 4
    assert registry.get_sample_value("latentwire_producer_payload_bytes_total", labels) == sum(
        map(len, payloads)
    )
    assert registry.get_sample_value("latentwire_producer_encode_seconds_count", labels) == 20
    assert registry.get_sample_value("latentwire_consumer_records_total", labels) == 20
    assert registry.get_sample_value("latentwire_consumer_payload_bytes_total", labels) == sum(
        map(len, payloads)
    )
    assert registry.get_sample_value("latentwire_consumer_decoded_bytes_total", labels) == 20 * 64 * 4


def test_error_bounded_round_trip_holds_the_bound(
    adapter: Adapter, digits_bundle, digits: np.ndarray
) -> None:
    ser = adapter.serializer(digits_bundle, error_bound=0.5)
    de = adapter.deserializer(ModelResolver([digits_bundle]))
    rows = digits[:10].copy()
    rows[3, 5] = np.nan  # stored losslessly in this mode
    values = np.stack([adapter.deserialize(de, adapter.serialize(ser, row)) for row in rows])
    finite = np.isfinite(rows)
    assert np.isnan(values[3, 5]) and np.isfinite(values[finite]).all()
    assert np.abs(values[finite] - rows[finite]).max() <= 0.5


def test_tombstones_pass_through(adapter: Adapter, digits_bundle) -> None:
    assert adapter.serialize(adapter.serializer(digits_bundle), None) is None
    assert adapter.deserialize(adapter.deserializer(ModelResolver([digits_bundle])), None) is None


def test_short_record_is_padded_and_restored(adapter: Adapter, digits_bundle, digits: np.ndarray) -> None:
    ser, de = adapter.serializer(digits_bundle), adapter.deserializer(ModelResolver([digits_bundle]))
    assert adapter.deserialize(de, adapter.serialize(ser, digits[0, :10])).shape == (10,)


def test_bad_values_raise_value_errors_not_type_errors(
    adapter: Adapter, digits_bundle, registry: CollectorRegistry
) -> None:
    ser = adapter.serializer(digits_bundle, metrics=ProducerMetrics.get(registry))
    with pytest.raises(ShapeError):
        adapter.serialize(ser, np.zeros(65))
    with pytest.raises(NonFiniteError):
        adapter.serialize(ser, np.full(64, np.nan))
    with pytest.raises(ValueError):
        adapter.serialize(ser, {"not": "a record"})
    for kind, count in (("wrong_shape", 1), ("non_finite", 1), ("not_numeric", 1)):
        assert (
            registry.get_sample_value("latentwire_producer_errors_total", {"topic": "t", "kind": kind})
            == count
        )


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"plain text", "bad_magic"),
        (b"\xc1\x10\xde\xad\xbe\xef\xc4\x01x", "unknown_model"),
        (b"\xc1\x10", "truncated"),
        (b"\xc1\xa0abcd\xc4\x01x", "unsupported_version"),
    ],
)
def test_undecodable_values_raise_with_their_kind(
    adapter: Adapter, digits_bundle, registry: CollectorRegistry, data: bytes, kind: str
) -> None:
    de = adapter.deserializer(ModelResolver([digits_bundle]), metrics=ConsumerMetrics.get(registry))
    with pytest.raises(DeserializationError, match="topic t") as info:
        adapter.deserialize(de, data)
    assert info.value.kind == kind
    assert registry.get_sample_value("latentwire_consumer_errors_total", {"topic": "t", "kind": kind}) == 1


def test_resolver_finds_bundles_in_a_directory(digits_bundle_dir, digits_bundle) -> None:
    resolver = ModelResolver(model_dirs=[digits_bundle_dir.parent])
    assert resolver.codec(digits_bundle.wire_id).model_id == digits_bundle.model_id


def test_payload_only_encode_matches_the_full_encode(digits_bundle, digits: np.ndarray) -> None:
    for codec in (Codec(digits_bundle), Codec(digits_bundle, error_bound=0.5)):
        lengths = [None, 10, None]
        assert codec.encode_payloads(digits[:3], lengths) == codec.encode(digits[:3], lengths).payloads
