"""Golden kind-7 envelopes (counts on the fine lattice) made with ``tests/golden/make_bundle_fine.py``: this
build must decode every one to exactly the stored float32 bits, within the stored bound of the source."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.codec import Codec
from compressor.envelope import Kind, unpack
from tests.golden_sets import check_golden_vectors, golden_set


@pytest.fixture(scope="module")
def golden() -> tuple[Codec, dict]:
    return golden_set("bundle_fine")


def test_golden_count_envelopes_decode_bit_for_bit_within_the_bound(golden) -> None:
    for v, got, bound in check_golden_vectors(*golden):
        source = np.asarray(v["source_float32_bits"], dtype=np.uint32).view(np.float32)
        assert np.abs(got.astype(np.float64) - source).max() <= bound, v["name"]
        if unpack(bytes.fromhex(v["envelope"])).kind == Kind.FINE_LATTICE:
            assert np.array_equal(got, source), v["name"]  # lossless (a rounded -0.0 comes back as 0.0)


def test_golden_set_holds_counts_with_and_without_raw_values_as_wire_version_4(golden) -> None:
    codec, vectors = golden
    fine = [v for v in vectors["vectors"] if bytes.fromhex(v["envelope"])[1] == 0x47]
    assert {v["name"].split(" #")[0] for v in fine} >= {
        "counts, E below the quantum (lossless)",
        "counts with one value off the fine lattice (raw)",
    }
    coder = codec.bounded_coder
    modes = {coder.mode_of(unpack(bytes.fromhex(v["envelope"])).payload, 2) for v in fine}
    assert {m & 1 for m in modes} == {0, 1}  # records without and with raw values
    assert coder.params.fine is not None
    # above the quantum no record is coded as counts
    assert all(
        unpack(bytes.fromhex(v["envelope"])).kind != Kind.FINE_LATTICE
        for v in vectors["vectors"]
        if v["error_bound"] >= 0.001
    )
