"""Bad input never crashes, hangs or balloons: every hostile value is a typed error or a FailedRecord.

Property-based (hypothesis) over the envelope decoder, the codec's ``decode`` and the batching consumer's
``decode_messages``; plus the hostile records a producer may be handed. The longer, time-bounded fuzz run
lives in ``tests/fuzz``.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from compressor.codec import Codec
from compressor.envelope import HEADER_SIZE, MAGIC, Envelope, Kind, pack, unpack
from compressor.errors import (
    EnvelopeError,
    LatentwireError,
    NonFiniteError,
    NotNumericError,
    ShapeError,
    UnknownModelError,
)
from consumers.batching import BatchingConsumer, DecodedRecord, FailedRecord
from consumers.resolver import ModelResolver
from producers.batching import BatchingProducer, RejectedRecordsError
from streaming.metrics import ConsumerMetrics, ProducerMetrics
from tests.records import consumer_record

#: a hostile 20-byte value may not make the decoder allocate more than this (bytes, traced by tracemalloc)
SMALL_INPUT_ALLOCATION_LIMIT = 2 * 1024 * 1024

HYPOTHESIS = settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

pytestmark = pytest.mark.fault


def header(wire_id: bytes = b"abcd", kind: int = 0) -> bytes:
    return bytes([MAGIC, 0x10 | kind]) + wire_id


# msgpack values of every type, nested: "wrong types inside valid msgpack"
msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.binary(max_size=64)
    | st.text(max_size=16),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)

# headers of msgpack containers that claim far more than follows: bin32/str32/array32/map32/ext32
huge_headers = st.sampled_from(
    [b"\xc6", b"\xdb", b"\xdd", b"\xdf", b"\xc9", b"\xc5", b"\xda", b"\xdc", b"\xde"]
).flatmap(
    lambda tag: (
        st.binary(min_size=4, max_size=4).map(lambda n: tag + n)
        if tag in (b"\xc6", b"\xdb", b"\xdd", b"\xdf", b"\xc9")
        else st.binary(min_size=2, max_size=2).map(lambda n: tag + n)
    )
)


def mutate(data: bytes, draw_ops: list[tuple[str, int, int]]) -> bytes:
    """Apply bit flips, truncations, insertions and deletions to ``data``."""
    buf = bytearray(data)
    for op, pos, value in draw_ops:
        if not buf:
            buf.extend(bytes([value & 0xFF]))
            continue
        pos %= len(buf)
        if op == "flip":
            buf[pos] ^= 1 << (value % 8)
        elif op == "set":
            buf[pos] = value & 0xFF
        elif op == "truncate":
            del buf[pos:]
        elif op == "insert":
            buf[pos:pos] = bytes([value & 0xFF]) * (1 + value % 5)
        elif op == "delete":
            del buf[pos : pos + 1 + value % 3]
    return bytes(buf)


mutations = st.lists(
    st.tuples(
        st.sampled_from(["flip", "set", "truncate", "insert", "delete"]),
        st.integers(0, 10_000),
        st.integers(0, 255),
    ),
    min_size=1,
    max_size=6,
)


def assert_typed(call: Any, *args: Any) -> Any:
    """``call(*args)`` returns or raises a LatentwireError; anything else fails the test."""
    try:
        return call(*args)
    except LatentwireError as exc:
        assert str(exc), f"{type(exc).__name__} without a message"
        return exc


# --------------------------------------------------------------------------------------- envelope


@HYPOTHESIS
@given(st.binary(max_size=300))
def test_random_bytes_unpack_or_raise_envelope_errors(data: bytes) -> None:
    result = assert_typed(unpack, data)
    if isinstance(result, Envelope):
        assert pack(result)[:HEADER_SIZE] == data[:HEADER_SIZE]
    else:
        assert isinstance(result, EnvelopeError)


@HYPOTHESIS
@given(
    st.binary(max_size=300), st.sampled_from([0, 1]), st.one_of(st.none(), st.integers(1, 10_000)), mutations
)
def test_mutated_envelopes_unpack_or_raise(payload: bytes, kind: int, length: int | None, ops) -> None:
    data = mutate(pack(Envelope(b"\x01\x02\x03\x04", kind, payload, length)), ops)
    result = assert_typed(unpack, data)
    assert isinstance(result, Envelope | EnvelopeError)


@HYPOTHESIS
@given(msgpack_values, st.integers(0, 15))
def test_wrong_types_inside_valid_msgpack_are_envelope_errors(body: Any, kind: int) -> None:
    data = header(kind=kind) + msgpack.packb(body, use_bin_type=True)
    result = assert_typed(unpack, data)
    if isinstance(result, Envelope):  # only bin or [bin, positive int] may pass
        assert isinstance(body, bytes) or (
            isinstance(body, list) and isinstance(body[0], bytes) and type(body[1]) is int and body[1] > 0
        )
    else:
        assert isinstance(result, EnvelopeError)


@HYPOTHESIS
@given(huge_headers, st.binary(max_size=8))
def test_huge_declared_lengths_allocate_nothing(claim: bytes, tail: bytes) -> None:
    data = (header() + claim + tail)[:20]
    tracemalloc.start()
    try:
        result = assert_typed(unpack, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result, EnvelopeError | Envelope)
    assert peak < SMALL_INPUT_ALLOCATION_LIMIT, f"decoding 20 bytes allocated {peak} bytes"


def test_wrong_magic_and_non_bytes_are_refused() -> None:
    for value in (b"\x00" * 20, b'{"values": [1, 2]}', b"\x93\x01\x02\x03"):
        with pytest.raises(EnvelopeError, match="not a latentwire envelope"):
            unpack(value)
    for value in (None, 12, "text", [1, 2]):
        with pytest.raises(EnvelopeError, match="must be bytes"):
            unpack(value)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ codec


@pytest.fixture(scope="module")
def codec(digits_bundle, digits: np.ndarray) -> Codec:
    """The digits codec, its compiled coders already built (a first call compiles them, which on a cold
    cache takes longer than the examples' deadline)."""
    codec = Codec(digits_bundle)
    for coder in (codec, Codec(digits_bundle, error_bound=0.5)):
        coder.decode([unpack(p) for p in coder.encode(digits[:4]).payloads])
    return codec


@HYPOTHESIS
@given(
    st.sampled_from(list(Kind) + [7, 15]),
    st.binary(max_size=200),
    st.one_of(st.none(), st.integers(1, 2**64)),
)
def test_codec_decode_of_random_payloads_is_typed(codec: Codec, kind: int, payload: bytes, length) -> None:
    envelope = Envelope(codec.wire_id, kind, payload, length)
    result = assert_typed(codec.decode, [envelope])
    if not isinstance(result, LatentwireError):
        assert len(result) == 1 and result[0].dtype == np.float32
        assert result[0].size == (codec.record_size if length is None else length)


@HYPOTHESIS
@given(st.data())
def test_codec_decode_of_mutated_valid_payloads_is_typed(codec: Codec, digits: np.ndarray, data) -> None:
    row = digits[data.draw(st.integers(0, len(digits) - 1))][None, :]
    bounded = data.draw(st.booleans())
    coder = Codec(codec.bundle, error_bound=0.5) if bounded else codec
    valid = unpack(coder.encode(row).payloads[0])
    payload = mutate(valid.payload, data.draw(mutations))
    result = assert_typed(coder.decode, [Envelope(valid.model_id, valid.kind, payload, valid.length)])
    if not isinstance(result, LatentwireError):
        assert result[0].shape == (codec.record_size,)


# -------------------------------------------------------------------------------- batching consumer


@pytest.fixture(scope="module")
def reader(digits_bundle) -> BatchingConsumer:
    return BatchingConsumer(
        None, ModelResolver([digits_bundle]), metrics=ConsumerMetrics.get(CollectorRegistry())
    )


@HYPOTHESIS
@given(st.lists(st.one_of(st.none(), st.binary(max_size=120), mutations), min_size=1, max_size=12), st.data())
def test_a_hostile_record_never_takes_its_batch_down(
    reader: BatchingConsumer, codec: Codec, digits: np.ndarray, values: list, data
) -> None:
    good = codec.encode(digits[:4])
    messages, expected = [], {}
    for offset, item in enumerate(values):
        if isinstance(item, list):  # a mutation of a valid envelope
            value = mutate(good.payloads[offset % 4], item)
        elif item is None and data.draw(st.booleans()):  # a valid record among the bad ones
            value = good.payloads[offset % 4]
            expected[offset] = good.decoded[offset % 4]
        else:
            value = item
        messages.append(consumer_record("sensors", 3, 1000 + offset, value))
    results = reader.decode_messages(messages)
    assert len(results) == sum(m.value is not None for m in messages)
    for result in results:
        assert isinstance(result, DecodedRecord | FailedRecord)
        if isinstance(result, FailedRecord):
            assert isinstance(result.error, LatentwireError)
            assert str(result).startswith(f"sensors[3]@{result.offset}: ")
            assert result.offset - 1000 not in expected
        elif result.offset - 1000 in expected:
            np.testing.assert_allclose(result.values, expected[result.offset - 1000], rtol=1e-5, atol=1e-4)
    decoded_offsets = {r.offset - 1000 for r in results if isinstance(r, DecodedRecord)}
    assert set(expected) <= decoded_offsets


def test_decoding_a_hostile_20_byte_value_allocates_little(reader: BatchingConsumer, codec: Codec) -> None:
    reader.decode_messages([consumer_record("t", 0, 0, codec.encode(np.zeros((1, 64))).payloads[0])])
    hostile = [
        header(codec.wire_id) + b"\xc6\xff\xff\xff\xf0" + b"\x00" * 9,  # bin32 of ~4 GiB
        header(codec.wire_id) + b"\xdd\xff\xff\xff\xff" + b"\xc4\x00" * 4 + b"\x01",  # array32 of 4G items
        header(codec.wire_id) + b"\x92\xc4\x08" + b"\x00" * 8 + b"\xcf\xff",  # [bin, uint64 length] cut
        header(codec.wire_id, 1) + b"\xc4\x0c" + b"\xff" * 12,  # an ANS stream of garbage
        header(codec.wire_id) + b"\x92\xc4\x04" + b"\x01" * 4 + b"\xce\xff\xff\xff\xff",  # declared length 4G
    ]
    for value in hostile:
        assert len(value) <= 20
        tracemalloc.start()
        try:
            (result,) = reader.decode_messages([consumer_record("t", 0, 7, value)])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert isinstance(result, FailedRecord), value.hex()
        assert peak < SMALL_INPUT_ALLOCATION_LIMIT, f"{value.hex()}: {peak} bytes"


def test_unknown_model_is_reported_with_topic_partition_offset(reader: BatchingConsumer) -> None:
    value = pack(Envelope(b"\xde\xad\xbe\xef", Kind.FIXED_RATE, b"\x00" * 8))
    (failed,) = reader.decode_messages([consumer_record("sensors", 2, 41, value, b"k")])
    assert isinstance(failed, FailedRecord)
    assert isinstance(failed.error, UnknownModelError)
    assert str(failed).startswith("sensors[2]@41: no model bundle with id deadbeef")


def test_failures_are_counted_by_kind(digits_bundle) -> None:
    registry = CollectorRegistry()
    reader = BatchingConsumer(None, ModelResolver([digits_bundle]), metrics=ConsumerMetrics.get(registry))
    results = reader.decode_messages(
        [consumer_record("s", 0, i, v) for i, v in enumerate([b"junk", b"\xc1\x10ab", b"\xc1\xa0abcd\xc0"])]
    )
    assert [r.error.kind for r in results] == ["bad_magic", "truncated", "unsupported_version"]
    for kind in ("bad_magic", "truncated", "unsupported_version"):
        assert (
            registry.get_sample_value("latentwire_consumer_errors_total", {"topic": "s", "kind": kind}) == 1
        )


# ---------------------------------------------------------------------------------- producer input


def test_bad_records_are_refused_saying_what_and_where(
    codec: Codec, digits: np.ndarray, recording_producer
) -> None:
    registry = CollectorRegistry()
    kafka = recording_producer
    producer = BatchingProducer(
        kafka, codec, "in", dead_letter_topic="in.dlq", metrics=ProducerMetrics.get(registry)
    )
    nan = digits[0].copy()
    nan[5] = np.nan
    inf = digits[0].copy()
    inf[63] = -np.inf
    rows = [
        digits[0],
        digits[0][:10],
        nan,
        inf,
        ["a"] * 64,
        [],
        digits[1],
        np.zeros((8, 8)),
        "text",
        {"x": 1},
    ]
    report = producer.send(rows)
    assert report.sent == 3  # rows 0, 6, and the 8x8 record (flattened)
    refused = {r.index: r.error for r in report.rejected}
    assert (
        isinstance(refused[1], ShapeError) and "64 values" in str(refused[1]) and "got 10" in str(refused[1])
    )
    assert isinstance(refused[2], NonFiniteError) and "index 5" in str(refused[2])
    assert isinstance(refused[3], NonFiniteError) and "index 63" in str(refused[3])
    assert isinstance(refused[4], NotNumericError)
    assert isinstance(refused[5], ShapeError) and "got 0" in str(refused[5])
    assert isinstance(refused[8], NotNumericError)
    assert isinstance(refused[9], LatentwireError)
    dead = [(value, dict(headers)) for topic, value, headers in kafka.sent if topic == "in.dlq"]
    assert len(dead) == len(refused)
    for _, headers in dead:
        assert headers["latentwire.source.topic"] == b"in"
        assert int(headers["latentwire.source.index"]) in refused
        assert headers["latentwire.error"] and headers["latentwire.error.kind"]
    total = sum(
        registry.get_sample_value("latentwire_producer_errors_total", {"topic": "in", "kind": kind}) or 0
        for kind in ("wrong_shape", "non_finite", "not_numeric", "bad_data")
    )
    assert total == len(refused)


def test_without_a_dead_letter_topic_refusals_raise(
    codec: Codec, digits: np.ndarray, recording_producer
) -> None:
    producer = BatchingProducer(
        recording_producer, codec, "in", metrics=ProducerMetrics.get(CollectorRegistry())
    )
    with pytest.raises(RejectedRecordsError, match="record 1: a record must hold 64 values"):
        producer.send([digits[0], digits[0][:3]])
