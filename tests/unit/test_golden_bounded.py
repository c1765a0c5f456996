"""Golden error-bounded envelopes (kinds 1 and 2) made with ``tests/golden/make_bundle_v2.py``: this build
must decode every one to exactly the stored float32 bits, within the stored bound of the source digits."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.codec import Codec
from compressor.envelope import Kind, unpack
from tests.golden_sets import decode_vectors, golden_set


@pytest.fixture(scope="module")
def golden() -> tuple[Codec, dict]:
    return golden_set("bundle_v2")


def test_golden_bounded_envelopes_decode_bit_for_bit(golden) -> None:
    codec, vectors = golden
    decoded, bounds = decode_vectors(codec, vectors)
    for v, got, bound in zip(vectors["vectors"], decoded, bounds, strict=True):
        expected = np.asarray(v["decoded_float32_bits"], dtype=np.uint32)
        assert np.array_equal(got.view(np.uint32), expected), v["name"]
        assert bound <= v["error_bound"] and bound > 0.99 * v["error_bound"], v["name"]


def test_golden_set_covers_both_grids_and_the_fitted_tables(golden) -> None:
    codec, vectors = golden
    kinds = {unpack(bytes.fromhex(v["envelope"])).kind for v in vectors["vectors"]}
    assert kinds == {Kind.BOUNDED, Kind.LATTICE}
    # kind 2 is written as wire version 2, kind 1 stays version 1
    for v in vectors["vectors"]:
        head = bytes.fromhex(v["envelope"])[1]
        assert head >> 4 == (2 if head & 0x0F == Kind.LATTICE else 1)
    slots = {
        codec.bounded_coder.mode_of(env.payload, env.kind == Kind.LATTICE) >> 1
        for env in (unpack(bytes.fromhex(v["envelope"])) for v in vectors["vectors"])
    }
    assert max(slots) >= len(codec.bounded_coder.params.predictors), "no record coded with a fitted table"


def test_golden_lattice_records_are_lossless_below_the_quantum(golden) -> None:
    from sklearn.datasets import load_digits

    codec, vectors = golden
    digits = load_digits().data.astype(np.float32)
    first = [v for v in vectors["vectors"] if v["name"].startswith("lattice, E below")]
    decoded = codec.decode([unpack(bytes.fromhex(v["envelope"])) for v in first])
    assert np.array_equal(np.stack(decoded), digits[1000 : 1000 + len(first)])


def test_golden_set_holds_kind_2_records_on_a_lattice_finer_than_2e(golden) -> None:
    from compressor.bounded.grid import bound_code

    codec, vectors = golden
    finer = [v for v in vectors["vectors"] if "finer than 2E" in v["name"]]
    assert finer
    for v in finer:
        env = unpack(bytes.fromhex(v["envelope"]))
        assert env.kind == Kind.LATTICE
        code = bound_code(v["error_bound"])
        assert (codec.bounded_coder.params.steps(code, True) < codec.bounded_coder.params.steps(code)).all()
