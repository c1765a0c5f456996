"""Golden kind-10 envelopes (wire version 7: the learned model coding the counts of the fine lattice at the
bundle's lossless bound), made with ``tests/golden/make_bundle_counts.py``: this build must decode every one
to exactly the source's float32 bits, write exactly these envelopes, and a version-6 reader must refuse
them."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.codec import Codec
from compressor.envelope import Kind, unpack
from compressor.error_bound import ErrorBound
from compressor.errors import EnvelopeError, UnsupportedVersionError
from tests.golden_sets import as_written, check_golden_vectors, golden_set


@pytest.fixture(scope="module")
def golden() -> tuple[Codec, dict]:
    return golden_set("bundle_counts")


def _sources(vectors: dict) -> np.ndarray:
    return np.stack(
        [np.asarray(v["source_float32_bits"], np.uint32).view(np.float32) for v in vectors["vectors"]]
    )


def test_golden_count_envelopes_decode_to_the_source_bits(golden) -> None:
    codec, vectors = golden
    for v, got, _ in check_golden_vectors(codec, vectors):
        assert np.array_equal(got, np.asarray(v["source_float32_bits"], np.uint32).view(np.float32)), v[
            "name"
        ]
    kinds = [bytes.fromhex(v["envelope"])[1] for v in vectors["vectors"]]
    assert 0x7A in kinds  # kind 10, wire version 7


def test_this_build_writes_exactly_these_envelopes(golden) -> None:
    codec, vectors = golden
    bound = ErrorBound.lossless(codec.bundle)
    envelopes = [as_written(bytes.fromhex(v["envelope"])) for v in vectors["vectors"]]
    assert Codec(codec.bundle, error_bound=bound).encode(_sources(vectors)).payloads == envelopes
    one = Codec(codec.bundle, error_bound=bound)
    assert [one.encode_one(x) for x in _sources(vectors)] == envelopes


def test_a_version_6_reader_refuses_kind_10(golden, monkeypatch) -> None:
    from compressor import envelope

    monkeypatch.setattr(envelope, "VERSION", 6)
    for v in golden[1]["vectors"]:
        buf = bytes.fromhex(v["envelope"])
        if buf[1] & 0x0F == Kind.LEARNED3_COUNTS:
            with pytest.raises(UnsupportedVersionError, match="upgrade the consumer"):
                unpack(buf)


def test_a_model_that_writes_kind_9_refuses_kind_10_and_the_other_way_round(golden) -> None:
    counts, _ = golden
    lattice, _ = golden_set("bundle_v5")  # a version-3 model without a fine lattice: kind 9
    with pytest.raises(EnvelopeError, match="kind 10"):
        lattice.learned_records.check_kind(Kind.LEARNED3_COUNTS)
    with pytest.raises(EnvelopeError, match="kind 10"):
        counts.learned_records.check_kind(Kind.LEARNED3_LOSSLESS)


def test_corrupt_kind_10_payloads_raise_only_envelope_errors(golden) -> None:
    codec, vectors = golden
    rng = np.random.default_rng(9)
    for v in vectors["vectors"]:
        env = unpack(bytes.fromhex(v["envelope"]))
        if env.kind != Kind.LEARNED3_COUNTS:
            continue
        for _ in range(30):
            bad = bytearray(env.payload)
            bad[rng.integers(len(bad))] ^= 1 << int(rng.integers(8))
            try:
                out = codec.learned_records.decode([bytes(bad)], [env.kind])[0]
            except EnvelopeError:
                continue
            assert out.shape == (1, codec.record_size)
