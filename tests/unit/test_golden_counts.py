"""Golden kind-10 envelopes (wire version 7: the learned model coding the counts of the fine lattice at the
bundle's lossless bound), made with ``tests/golden/make_bundle_counts.py``, and kind-11 envelopes of the same
bundle (wire version 9: counts only in the columns where a count is coarser than the grid), made with
``tests/golden/make_bundle_counted.py``: this build must decode every one to exactly the stored float32
bits, write exactly these envelopes, and a reader from before each kind must refuse it."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.codec import Codec
from compressor.envelope import Kind, unpack
from compressor.error_bound import ErrorBound
from compressor.errors import EnvelopeError, UnsupportedVersionError
from tests.golden_sets import (
    as_written,
    check_golden_vectors,
    decoded_in_consumer_process,
    golden_set,
    source_records,
)


@pytest.fixture(scope="module")
def golden() -> tuple[Codec, dict]:
    return golden_set("bundle_counts")


def test_golden_count_envelopes_decode_to_the_source_bits(golden) -> None:
    codec, vectors = golden
    for v, got, _ in check_golden_vectors(codec, vectors):
        assert np.array_equal(got, np.asarray(v["source_float32_bits"], np.uint32).view(np.float32)), v[
            "name"
        ]
    kinds = [bytes.fromhex(v["envelope"])[1] for v in vectors["vectors"]]
    assert 0x7A in kinds  # kind 10, wire version 7


@pytest.mark.parametrize("name", ["bundle_counts", "bundle_counted"])
def test_this_build_writes_exactly_these_envelopes(name) -> None:
    codec, vectors = golden_set(name, "bundle_counts")
    bound = vectors["vectors"][0]["error_bound"]  # kind 10: the lossless bound, ErrorBound.lossless's value
    if name == "bundle_counts":
        assert ErrorBound(bound).code == ErrorBound.lossless(codec.bundle).code
    envelopes = [as_written(bytes.fromhex(v["envelope"])) for v in vectors["vectors"]]
    assert Codec(codec.bundle, error_bound=bound).encode(source_records(vectors)).payloads == envelopes
    one = Codec(codec.bundle, error_bound=bound)
    assert [one.encode_one(x) for x in source_records(vectors)] == envelopes


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


@pytest.mark.parametrize(
    ("name", "kind"), [("bundle_counts", Kind.LEARNED3_COUNTS), ("bundle_counted", Kind.LEARNED3_COUNTED)]
)
def test_corrupt_count_payloads_raise_only_envelope_errors(name, kind) -> None:
    codec, vectors = golden_set(name, "bundle_counts")
    rng = np.random.default_rng(9)
    seen = 0
    for v in vectors["vectors"]:
        env = unpack(bytes.fromhex(v["envelope"]))
        if env.kind != kind:
            continue
        seen += 1
        for _ in range(30):
            bad = bytearray(env.payload)
            bad[rng.integers(len(bad))] ^= 1 << int(rng.integers(8))
            try:
                out = codec.learned_records.decode([bytes(bad)], [env.kind])[0]
            except EnvelopeError:
                continue
            assert out.shape == (1, codec.record_size)
    assert seen


@pytest.fixture(scope="module")
def counted() -> tuple[Codec, dict]:
    return golden_set("bundle_counted", "bundle_counts")


def test_golden_kind_11_envelopes_decode_exactly_where_counted_and_within_the_bound_elsewhere(
    counted,
) -> None:
    codec, vectors = counted
    for v, got, bound in check_golden_vectors(codec, vectors):
        source = np.asarray(v["source_float32_bits"], np.uint32).view(np.float32).reshape(-1, 3)
        err = np.abs(got.reshape(-1, 3).astype(np.float64) - source)
        assert err.max() <= bound, v["name"]
        assert (err[:, 2] == 0).all() and err[:, :2].max() > 0, v["name"]  # counts in column 2 only
    assert {bytes.fromhex(v["envelope"])[1] for v in vectors["vectors"]} == {0x9B}  # kind 11, version 9


def test_a_version_8_reader_refuses_kind_11(counted, monkeypatch) -> None:
    from compressor import envelope

    monkeypatch.setattr(envelope, "VERSION", 8)
    for v in counted[1]["vectors"]:
        with pytest.raises(UnsupportedVersionError, match="wire version 9 .* upgrade the consumer"):
            unpack(bytes.fromhex(v["envelope"]))


def test_a_padded_record_at_a_counted_bound_goes_classical(counted) -> None:
    codec, vectors = counted
    bound = vectors["vectors"][0]["error_bound"]
    records = source_records(vectors)[:2]
    encoded = Codec(codec.bundle, error_bound=bound).encode(records, lengths=[None, 40])
    kinds = [unpack(p).kind for p in encoded.payloads]
    assert kinds[0] == Kind.LEARNED3_COUNTED and kinds[1] in (Kind.BOUNDED, Kind.LATTICE, Kind.FINE_LATTICE)
    got = codec.decode([unpack(p) for p in encoded.payloads])
    assert len(got[1]) == 40 and np.abs(got[1].astype(np.float64) - records[1, :40]).max() <= bound
    one = Codec(codec.bundle, error_bound=bound)
    assert one.encode_one(records[1], 40) == encoded.payloads[1]


def test_a_model_without_a_coarser_count_refuses_kind_11(counted) -> None:
    codec, vectors = counted
    env = unpack(bytes.fromhex(vectors["vectors"][0]["envelope"]))
    lattice, _ = golden_set("bundle_v5")  # a version-3 model without a fine lattice
    with pytest.raises(EnvelopeError, match="kind-11 payload|no quantum|knows no"):
        lattice.learned_records.decode([env.payload], [env.kind])


def test_a_consumer_process_with_one_blas_thread_decodes_kind_11_to_the_same_bits(counted) -> None:
    _, vectors = counted
    got = decoded_in_consumer_process("bundle_counts", vectors)
    expected = np.concatenate([np.asarray(v["decoded_float32_bits"], np.uint32) for v in vectors["vectors"]])
    assert np.array_equal(got, expected)
