"""Whole fixed-rate envelopes written and read as one array (``Codec.encode`` / ``decode_fixed_rate`` and
the batching consumer's prefix path): the same bytes and values as one envelope at a time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from compressor.codec import Codec
from compressor.envelope import FRAMING_VERSION, Envelope, Kind, pack, unpack
from compressor.errors import EnvelopeError
from compressor.quantization import LatentQuantizer
from consumers.batching import BatchingConsumer, DecodedRecord, FailedRecord
from consumers.resolver import ModelResolver
from streaming.metrics import ConsumerMetrics
from tests.records import consumer_record


@pytest.fixture(params=[8, 12], ids=["8-bit", "12-bit"])
def codec(request: pytest.FixtureRequest, digits_bundle) -> Codec:
    """The digits model with 8-bit codes, and with 12-bit ones (two bytes per code, little-endian)."""
    if request.param == 8:
        return Codec(digits_bundle)
    q = digits_bundle.quantizer
    return Codec(dataclasses.replace(digits_bundle, quantizer=LatentQuantizer(q.low, q.high, request.param)))


def _one_at_a_time(codec: Codec, records: np.ndarray) -> list[bytes]:
    """Every record's envelope packed on its own from its codes."""
    q = codec.bundle.quantizer
    codes = q.quantize(codec.latents(records))
    return [
        pack(Envelope(codec.wire_id, Kind.FIXED_RATE, body, None, FRAMING_VERSION))
        for body in q.to_bytes(codes)
    ]


def test_envelopes_are_the_bytes_packed_one_at_a_time(codec: Codec, digits: np.ndarray) -> None:
    records = digits[:300]
    expected = _one_at_a_time(codec, records)
    assert codec.encode(records).payloads == expected
    assert codec.encode_payloads(records, [None] * 300) == expected
    padded = codec.encode(records, [5, *[None] * 299]).payloads  # one padded record: per-record packing
    assert unpack(padded[0]).length == 5
    assert padded[1:] == expected[1:]
    assert all(p.startswith(codec.fixed_rate_prefix) for p in expected)


def test_decode_fixed_rate_gives_what_decode_gives(codec: Codec, digits: np.ndarray) -> None:
    payloads = codec.encode(digits[:500]).payloads
    expected = np.stack(codec.decode([unpack(p) for p in payloads]))
    assert np.array_equal(codec.decode_fixed_rate(payloads), expected)


def test_decode_fixed_rate_refuses_anything_else(codec: Codec, digits: np.ndarray) -> None:
    good = codec.encode(digits[:2]).payloads
    other_model = b"\xc1\x00\x00\x00\x00\x00" + good[0][6:]
    for values in ([good[0], other_model], [good[0] + b"\x00", good[1][:-1]], [good[0][:-1]]):
        with pytest.raises(EnvelopeError):
            codec.decode_fixed_rate(values)


def test_consumer_decodes_known_prefixes_as_before(codec: Codec, digits: np.ndarray) -> None:
    """The first batch teaches the consumer the model's prefix; the second, decoded by it, holds every
    other kind of value too and comes out the same as decoding envelope by envelope."""
    metrics = ConsumerMetrics.get(CollectorRegistry())
    reader = BatchingConsumer(None, ModelResolver([codec.bundle]), metrics=metrics)
    records = digits[:40]
    whole = codec.encode(records).payloads
    padded = codec.encode(records[:1], [7]).payloads[0]
    first = reader.decode_messages([consumer_record("t", 0, i, v) for i, v in enumerate(whole[:3])])
    assert [r.offset for r in first] == [0, 1, 2]
    assert codec.fixed_rate_prefix in reader._fixed_prefixes
    values = [*whole[3:20], padded, None, b"not an envelope", bytearray(whole[20]), *whole[21:]]
    out = reader.decode_messages(
        [
            consumer_record("t", 1, i, v, key=b"k", headers=[("h", b"1")], timestamp=i)
            for i, v in enumerate(values)
        ]
    )
    assert len(out) == len(values) - 1  # the tombstone yields nothing
    failed = [r for r in out if isinstance(r, FailedRecord)]
    assert [(f.offset, f.error.kind) for f in failed] == [(19, "bad_magic")]
    decoded = [r for r in out if isinstance(r, DecodedRecord)]
    assert [r.offset for r in decoded] == [i for i, v in enumerate(values) if v is not None and i != 19]
    # decoded as envelopes one by one; a batch's matrix products may round the last bit differently
    for r in decoded:
        expected = codec.decode([unpack(bytes(values[r.offset]))])[0]
        np.testing.assert_allclose(r.values, expected, rtol=1e-5, atol=1e-4)
        assert (r.topic, r.partition, r.key, r.headers, r.timestamp) == (
            "t",
            1,
            b"k",
            [("h", b"1")],
            r.offset,
        )
        assert r.model_id == codec.model_id and r.error_bound is None
    prefixed = [r for r in decoded if type(values[r.offset]) is bytes and r.offset != 17]
    assert np.array_equal(  # those read by their prefix: exactly what the batch decode gives them
        np.stack([r.values for r in prefixed]), codec.decode_fixed_rate([values[r.offset] for r in prefixed])
    )
    assert decoded[17].values.shape == (7,)  # the padded record, trimmed to its length
    model = codec.model_id[:8]
    assert metrics.records.labels("t", model)._value.get() == 3 + len(decoded)


def test_consumer_reads_an_older_producers_framing_beside_version_8(codec: Codec, digits: np.ndarray) -> None:
    """A stream with whole fixed-rate records of a version-7 producer (msgpack bin8 framing, marked 1) and of
    this one (marked 8, 2 bytes shorter): both decode to the same values, the older ones by envelope."""
    reader = BatchingConsumer(
        None, ModelResolver([codec.bundle]), metrics=ConsumerMetrics.get(CollectorRegistry())
    )
    new = codec.encode(digits[:6]).payloads
    old = [pack(Envelope(codec.wire_id, Kind.FIXED_RATE, unpack(v).payload)) for v in new]
    assert all(v[1] == 0x10 and len(v) == len(w) + 2 for v, w in zip(old, new, strict=True))
    reader.decode_messages([consumer_record("t", 0, 0, new[0])])  # the consumer learns the version-8 prefix
    values = [v for pair in zip(old[1:], new[1:], strict=True) for v in pair]
    out = reader.decode_messages([consumer_record("t", 0, i + 1, v) for i, v in enumerate(values)])
    assert all(isinstance(r, DecodedRecord) for r in out) and len(out) == len(values)
    for a, b in zip(out[0::2], out[1::2], strict=True):
        np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-4)
