"""Golden learned records of a version-4 learned model (a seasonal term in the prediction), made with
``tests/golden/make_bundle_season.py``: this build must decode every one to exactly the stored float32 bits
within the bound, write exactly these envelopes, and a build that reads model versions 1 to 3 only must
refuse the bundle instead of mispredicting."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from compressor.codec import Codec
from compressor.envelope import Kind, unpack
from compressor.errors import BundleError, EnvelopeError
from tests.golden_sets import (
    GOLDEN,
    as_written,
    check_golden_vectors,
    decoded_in_consumer_process,
    golden_set,
    source_records,
)


@pytest.fixture(scope="module")
def golden() -> tuple[Codec, dict]:
    return golden_set("bundle_season")


def test_the_golden_model_is_version_4_with_a_seasonal_term(golden) -> None:
    model = golden[0].learned_records.model
    assert model.version == 4 and model.period >= 2
    assert np.abs(model.season).max() > 0.1
    kinds = {unpack(bytes.fromhex(v["envelope"])).kind for v in golden[1]["vectors"]}
    assert kinds == {Kind.LEARNED3, Kind.LEARNED3_LOSSLESS}


def test_golden_season_envelopes_decode_bit_for_bit_within_the_bound(golden) -> None:
    codec, vectors = golden
    sources = source_records(vectors)
    for (v, got, bound), source in zip(check_golden_vectors(codec, vectors), sources, strict=True):
        assert np.abs(got.astype(np.float64) - source).max() <= bound, v["name"]


def test_this_build_writes_exactly_these_envelopes(golden) -> None:
    codec, vectors = golden
    for bound in sorted({v["error_bound"] for v in vectors["vectors"]}):
        chosen = [v for v in vectors["vectors"] if v["error_bound"] == bound]
        envelopes = [as_written(bytes.fromhex(v["envelope"])) for v in chosen]
        sources = source_records({"vectors": chosen})
        assert Codec(codec.bundle, error_bound=bound).encode(sources).payloads == envelopes
        one = Codec(codec.bundle, error_bound=bound)
        assert [one.encode_one(x) for x in sources] == envelopes


def test_the_seasonal_term_changes_what_the_records_decode_to(golden) -> None:
    codec, vectors = golden
    records = codec.learned_records
    plain = dataclasses.replace(records.model, version=3, period=0, season=None)
    records.model, kept = plain, records.model
    try:
        envelopes = [unpack(bytes.fromhex(v["envelope"])) for v in vectors["vectors"][3:6]]
        with pytest.raises(EnvelopeError):  # the streams no longer decode consistently
            records.decode([e.payload for e in envelopes], [e.kind for e in envelopes])
    finally:
        records.model = kept


def test_a_reader_of_model_versions_1_to_3_refuses_the_bundle(monkeypatch) -> None:
    from compressor.bundle import load_bundle
    from compressor.learned import model

    monkeypatch.setattr(model, "VERSIONS", (1, 2, 3))
    with pytest.raises(BundleError, match="learned model version 4 is not supported .* upgrade the consumer"):
        Codec(load_bundle(GOLDEN / "bundle_season")).learned_records  # noqa: B018 - loading is the check


def test_a_consumer_process_with_one_blas_thread_decodes_them_to_the_same_bits(golden) -> None:
    _, vectors = golden
    got = decoded_in_consumer_process("bundle_season", vectors)
    expected = np.concatenate([np.asarray(v["decoded_float32_bits"], np.uint32) for v in vectors["vectors"]])
    assert np.array_equal(got, expected)
