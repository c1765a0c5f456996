"""Golden kind-3 envelopes (the learned model) made with ``tests/golden/make_bundle_v3.py``: this build must
decode every one to exactly the stored float32 bits, within the stored bound of the source records."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from compressor.codec import Codec
from compressor.envelope import Kind, unpack
from tests.golden_sets import GOLDEN, decode_vectors, golden_set


@pytest.fixture(scope="module")
def golden() -> tuple[Codec, dict]:
    return golden_set("bundle_v3")


def _source() -> np.ndarray:
    sys.path.insert(0, str(GOLDEN))
    from make_bundle_v3 import series

    return series()[240:]


def test_golden_learned_envelopes_decode_bit_for_bit_within_the_bound(golden) -> None:
    codec, vectors = golden
    decoded, bounds = decode_vectors(codec, vectors)
    source = _source()
    starts = {"lossless": 0, "preset": 3, "E = 1.9": 6, "coarse": 9}
    for v, got, bound in zip(vectors["vectors"], decoded, bounds, strict=True):
        expected = np.asarray(v["decoded_float32_bits"], dtype=np.uint32)
        assert np.array_equal(got.view(np.uint32), expected), v["name"]
        assert 0.99 * v["error_bound"] < bound <= v["error_bound"], v["name"]
        first = next(i for key, i in starts.items() if key in v["name"])
        original = source[first + int(v["name"].rsplit("#", 1)[1])]
        assert np.abs(got.astype(np.float64) - original).max() <= bound, v["name"]
        if "lossless" in v["name"]:
            assert np.array_equal(got, original)


def test_golden_set_covers_both_grids_and_both_bound_forms_of_kind_3(golden) -> None:
    _, vectors = golden
    learned = [bytes.fromhex(v["envelope"]) for v in vectors["vectors"]]
    learned = [e for e in learned if e[1] & 0x0F == Kind.LEARNED]
    assert len(learned) >= 6
    assert all(e[1] >> 4 == 3 for e in learned)  # kind 3 is written as wire version 3
    first = {unpack(e).payload[0] for e in learned}
    assert {b >> 7 for b in first} == {0, 1}  # the data's lattice and the plain grid
    assert {b & 0x7F == 0x7F for b in first} == {False, True}  # a preset bound and an explicit code
