"""Golden envelopes of a model with a fitted linear predictor and a lossless bound (wire version 7), made with
``tests/golden/make_bundle_linear.py``: this build must decode every one to exactly the stored float32
bits, within the stored bound of the source, and a version-6 reader must refuse them."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.bounded.grid import bound_from_code
from compressor.codec import Codec
from compressor.envelope import CLASSICAL_VERSION, FRAMING_VERSION, Envelope, unpack
from compressor.errors import EnvelopeError, UnsupportedVersionError
from tests.golden_sets import as_written, check_golden_vectors, golden_set

_GRIDS = {1: 0, 2: 1, 7: 2}


@pytest.fixture(scope="module")
def golden() -> tuple[Codec, dict]:
    return golden_set("bundle_linear")


def test_golden_envelopes_decode_bit_for_bit_within_the_bound(golden) -> None:
    for v, got, bound in check_golden_vectors(*golden):
        source = np.asarray(v["source_float32_bits"], dtype=np.uint32).view(np.float32)
        assert np.abs(got.astype(np.float64) - source).max() <= bound, v["name"]
        if v["error_bound"] < 0.005:
            assert np.array_equal(got, source), v["name"]  # below half the quantum: lossless


def test_every_golden_record_is_version_7_and_coded_with_the_linear_slot(golden) -> None:
    codec, vectors = golden
    coder = codec.bounded_coder
    assert coder.params.linear is not None and coder.params.lossless_code is not None
    for v in vectors["vectors"]:
        env = unpack(bytes.fromhex(v["envelope"]))
        assert env.version == CLASSICAL_VERSION, v["name"]
        g = _GRIDS[env.kind]
        assert coder.mode_of(env.payload, g, True) >> 1 == coder.params.linear_slot(g), v["name"]
    # at the bundle's lossless bound the records name it as a preset
    named = {coder.read_bound(unpack(bytes.fromhex(v["envelope"])).payload, True) for v in vectors["vectors"]}
    assert bound_from_code(coder.params.lossless_code) in named


def test_a_version_6_reader_refuses_them(golden, monkeypatch) -> None:
    from compressor import envelope

    monkeypatch.setattr(envelope, "VERSION", 6)
    for v in golden[1]["vectors"]:
        with pytest.raises(UnsupportedVersionError, match="upgrade the consumer"):
            unpack(bytes.fromhex(v["envelope"]))


def test_the_same_bodies_marked_with_an_older_version_do_not_pass_as_the_same_records(golden) -> None:
    codec, vectors = golden
    for v in vectors["vectors"]:
        env = unpack(bytes.fromhex(v["envelope"]))
        older = Envelope(env.model_id, env.kind, env.payload)  # read with the mode alphabet of version 1 or 2
        try:
            got = codec.decode([older])[0]
        except EnvelopeError:
            continue
        assert not np.array_equal(got.view(np.uint32), np.asarray(v["decoded_float32_bits"], np.uint32))


def test_this_build_writes_them_as_version_8_with_the_same_coded_records(golden) -> None:
    """Wire version 8 changes the framing only: this build writes each golden record whole as the same coded
    record after a header marked 8, decodes that to the same bits, and marks a padded record 7."""
    from compressor.error_bound import ErrorBound

    codec, vectors = golden
    for v in vectors["vectors"]:
        source = np.asarray(v["source_float32_bits"], np.uint32).view(np.float32).reshape(1, -1)
        writer = Codec(codec.bundle, error_bound=ErrorBound(v["error_bound"]))
        (written,) = writer.encode(source).payloads
        assert written == as_written(bytes.fromhex(v["envelope"])), v["name"]
        assert written[1] >> 4 == FRAMING_VERSION and unpack(written).version7 is None
        got = codec.decode([unpack(written)])[0]
        assert np.array_equal(got.view(np.uint32), np.asarray(v["decoded_float32_bits"], np.uint32)), v[
            "name"
        ]
        (padded,) = writer.encode(source, lengths=[source.shape[1] - 1]).payloads
        assert padded[1] >> 4 == CLASSICAL_VERSION and unpack(padded).length == source.shape[1] - 1
        assert unpack(padded).payload == unpack(written).payload
