"""The fixed-rate codec and input validation: every bad input gets a typed error that says what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.codec import Codec
from compressor.envelope import Envelope, Kind, pack, unpack
from compressor.errors import (
    EnvelopeError,
    NonFiniteError,
    NotNumericError,
    ShapeError,
    TruncatedError,
    UnknownModelError,
)
from compressor.validation import as_record, split_valid


def test_encode_decode_matches_what_the_producer_measured(digits_bundle, digits: np.ndarray) -> None:
    codec = Codec(digits_bundle)
    encoded = codec.encode(digits[:500])
    assert len(encoded.payloads) == 500
    assert {len(p) for p in encoded.payloads} == {codec.bundle.quantizer.payload_size + 6}  # the header alone
    decoded = np.stack(codec.decode([unpack(p) for p in encoded.payloads]))
    assert np.array_equal(decoded, encoded.decoded)
    # a trained model reconstructs far better than predicting the mean
    rmse = np.sqrt(np.mean((decoded - digits[:500]) ** 2))
    baseline = np.sqrt(np.mean((digits[:500] - digits.mean(axis=0)) ** 2))
    assert rmse < 0.7 * baseline


def test_padded_record_comes_back_at_its_true_length(digits_bundle, digits: np.ndarray) -> None:
    codec = Codec(digits_bundle)
    encoded = codec.encode(digits[:2], [None, 40])
    decoded = codec.decode([unpack(p) for p in encoded.payloads])
    assert [d.shape[0] for d in decoded] == [64, 40]


def test_single_record_encoding_is_cheap(digits_bundle, digits: np.ndarray) -> None:
    codec = Codec(digits_bundle)
    assert codec._encoder.backend == "numpy"  # no eager Keras call per record


@pytest.mark.parametrize(
    ("record", "error", "message"),
    [
        (np.zeros(63), ShapeError, "must hold 64 values for this model, got 63"),
        (np.zeros((2, 64)), ShapeError, "got 128"),
        ([float("nan")] + [0.0] * 63, NonFiniteError, "first at index 0"),
        ([0.0] * 10 + [float("inf")] + [0.0] * 53, NonFiniteError, "first at index 10"),
        (["a"] * 64, NotNumericError, "must be numbers"),
        ("not a record", NotNumericError, "must be numbers"),
        (b"\x00" * 256, NotNumericError, "must be numbers"),
        ([[1, 2], [3]], ShapeError, "flat array"),
        (3.0, ShapeError, "scalar"),
    ],
)
def test_bad_records_raise_typed_errors(record: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        as_record(record, 64)


def test_batch_validation_keeps_good_rows_and_names_bad_ones() -> None:
    rows = [np.ones(4), [1, 2, 3], ["x", 1, 2, 3], [1, 2, np.nan, 4], np.zeros(4)]
    valid, kept, rejected = split_valid(rows, 4)
    assert kept.tolist() == [0, 4] and valid.shape == (2, 4)
    assert [(r.index, type(r.error)) for r in rejected] == [
        (1, ShapeError),
        (2, NotNumericError),
        (3, NonFiniteError),
    ]


def test_decode_refuses_mismatched_envelopes(digits_bundle, digits: np.ndarray) -> None:
    codec = Codec(digits_bundle)
    good = unpack(codec.encode(digits[:1]).payloads[0])
    with pytest.raises(UnknownModelError):
        codec.decode([Envelope(b"zzzz", good.kind, good.payload)])
    with pytest.raises(EnvelopeError, match="bytes, model"):
        codec.decode([Envelope(good.model_id, good.kind, good.payload[:-1])])
    with pytest.raises(EnvelopeError, match="exceeds the record size"):
        codec.decode([Envelope(good.model_id, good.kind, good.payload, 65)])
    with pytest.raises(TruncatedError):
        unpack(pack(good)[:6])  # a version-8 header without its body
    with pytest.raises(EnvelopeError, match="bytes, model"):
        codec.decode([unpack(pack(good)[:-3])])  # a whole record cut short: its payload has the wrong size
    assert good.kind == Kind.FIXED_RATE
