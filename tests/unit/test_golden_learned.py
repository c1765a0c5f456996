"""Golden learned-model envelopes: kind 3 (a version-1 model, ``tests/golden/make_bundle_v3.py``), kind 6
(a version-2 model, ``make_bundle_v4.py``) and kind 8 (a version-3 model, ``make_bundle_v5.py``; same series
and cases), and kind 9 (the version-3 model at its lossless bound, ``make_bundle_v5.py lossless``). This
build must decode every one to exactly the stored float32 bits, within the stored bound of the source
records, and write the kind-9 ones byte for byte."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from compressor.codec import Codec
from compressor.envelope import Kind, unpack
from compressor.error_bound import ErrorBound
from compressor.errors import EnvelopeError
from tests.golden_sets import GOLDEN, as_written, check_golden_vectors, decode_vectors, golden_set

#: golden set -> (envelope kind of its learned records, the wire version they are written as)
SETS = {"bundle_v3": (Kind.LEARNED, 3), "bundle_v4": (Kind.LEARNED2, 4), "bundle_v5": (Kind.LEARNED3, 5)}


@pytest.fixture(scope="module", params=sorted(SETS))
def golden(request) -> tuple[str, Codec, dict]:
    return (request.param, *golden_set(request.param))


def _source() -> np.ndarray:
    sys.path.insert(0, str(GOLDEN))
    from make_bundle_v3 import series

    return series()[240:]


@pytest.fixture(scope="module")
def lossless() -> tuple[Codec, dict, np.ndarray]:
    """The kind-9 set: the codec of ``bundle_v5``, its vectors, and the source records they code."""
    sys.path.insert(0, str(GOLDEN))
    from make_bundle_v5 import LOSSLESS_RECORDS

    codec, vectors = golden_set("bundle_v5_lossless", "bundle_v5")
    first, count = LOSSLESS_RECORDS
    return codec, vectors, _source()[first : first + count]


def test_golden_learned_envelopes_decode_bit_for_bit_within_the_bound(golden) -> None:
    _, codec, vectors = golden
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


def test_golden_set_covers_both_grids_and_both_bound_forms_of_its_learned_kind(golden) -> None:
    name, _, vectors = golden
    kind, version = SETS[name]
    learned = [bytes.fromhex(v["envelope"]) for v in vectors["vectors"]]
    learned = [e for e in learned if e[1] & 0x0F == kind]
    assert len(learned) >= 6
    assert all(e[1] >> 4 == version for e in learned)  # written as the wire version that defines the kind
    first = {unpack(e).payload[0] for e in learned}
    assert {b >> 7 for b in first} == {0, 1}  # the data's lattice and the plain grid
    assert {b & 0x7F == 0x7F for b in first} == {False, True}  # a preset bound and an explicit code


def test_a_golden_learned_record_of_one_version_is_refused_by_the_other_model() -> None:
    _, v3 = golden_set("bundle_v3")
    codec4, _ = golden_set("bundle_v4")
    kind3 = next(unpack(bytes.fromhex(v["envelope"])) for v in v3["vectors"] if "lossless" in v["name"])
    from compressor.envelope import Envelope
    from compressor.errors import EnvelopeError

    with pytest.raises(EnvelopeError, match="kind-3 payload, but the learned model .* is version 2"):
        codec4.decode([Envelope(codec4.wire_id, Kind.LEARNED, kind3.payload)])


def test_a_golden_kind_8_record_is_refused_by_a_version_2_model_and_a_kind_6_by_a_version_3_one() -> None:
    from compressor.envelope import Envelope
    from compressor.errors import EnvelopeError

    codec4, v4 = golden_set("bundle_v4")
    codec5, v5 = golden_set("bundle_v5")
    kind6 = next(unpack(bytes.fromhex(v["envelope"])) for v in v4["vectors"] if "lossless" in v["name"])
    kind8 = next(unpack(bytes.fromhex(v["envelope"])) for v in v5["vectors"] if "lossless" in v["name"])
    with pytest.raises(EnvelopeError, match="kind-8 payload, but the learned model .* is version 2"):
        codec4.decode([Envelope(codec4.wire_id, Kind.LEARNED3, kind8.payload)])
    with pytest.raises(EnvelopeError, match="kind-6 payload, but the learned model .* is version 3"):
        codec5.decode([Envelope(codec5.wire_id, Kind.LEARNED2, kind6.payload)])


def test_kind_8_streams_are_shorter_than_kind_6_ones_of_the_same_records() -> None:
    """The same cases under the version-2 and the version-3 model: the start state and the short final
    state (and the sign contexts where training kept them) save a byte per record or more."""
    sizes = {}
    for name in ("bundle_v4", "bundle_v5"):
        _, vectors = golden_set(name)
        sizes[name] = {
            v["name"]: len(unpack(bytes.fromhex(v["envelope"])).payload)
            for v in vectors["vectors"]
            if bytes.fromhex(v["envelope"])[1] & 0x0F in (Kind.LEARNED2, Kind.LEARNED3)
        }
    both = sizes["bundle_v4"].keys() & sizes["bundle_v5"].keys()
    assert len(both) >= 6
    assert sum(sizes["bundle_v5"][k] for k in both) <= sum(sizes["bundle_v4"][k] for k in both) - len(both)


def test_golden_kind_9_envelopes_decode_exactly_and_carry_the_lossless_bound(lossless) -> None:
    codec, vectors, source = lossless
    envelopes = [bytes.fromhex(v["envelope"]) for v in vectors["vectors"]]
    assert all(e[1] == 0x69 for e in envelopes)  # kind 9, written as wire version 6
    bound = ErrorBound.lossless(codec.bundle)
    for v, got, coded in check_golden_vectors(codec, vectors):
        assert v["error_bound"] == bound.value and coded == bound.coded
        assert np.array_equal(got, source[int(v["name"].rsplit("#", 1)[1])])  # exact
    one = [codec.decode_one(unpack(e)) for e in envelopes]
    assert np.array_equal(np.stack(one), np.stack(decode_vectors(codec, vectors)[0]))


def test_this_build_writes_the_golden_kind_9_envelopes_byte_for_byte(lossless) -> None:
    codec, vectors, source = lossless
    envelopes = [as_written(bytes.fromhex(v["envelope"])) for v in vectors["vectors"]]
    writer = Codec(codec.bundle, error_bound=ErrorBound.lossless(codec.bundle))
    assert writer.encode(source).payloads == envelopes
    one = Codec(codec.bundle, error_bound=ErrorBound.lossless(codec.bundle))
    assert [one.encode_one(x) for x in source] == envelopes


def test_a_kind_9_payload_is_the_kind_8_stream_without_its_header(lossless) -> None:
    """The same records at the same bound, written by a coder that knows no lossless bound: kind 8 with an
    explicit bound code (3 header bytes), then the identical stream."""
    from compressor.learned.records import LearnedRecords

    codec, vectors, source = lossless
    bound = ErrorBound.lossless(codec.bundle)
    headed = LearnedRecords(codec.learned_records.model, codec.bounded_coder)
    assert headed.kind_at(bound.code) == Kind.LEARNED3
    bodies, _, _ = headed.encode(source, bound)
    head = bytes((0x80 | 0x7F,)) + bound.code.to_bytes(2, "big")  # the lattice, an explicit code
    for v, body in zip(vectors["vectors"], bodies, strict=True):
        assert body == head + unpack(bytes.fromhex(v["envelope"])).payload


def test_a_golden_kind_9_record_is_refused_where_the_model_cannot_read_it(lossless) -> None:
    from compressor.envelope import Envelope

    codec5, vectors, _ = lossless
    codec4, _ = golden_set("bundle_v4")
    payload = unpack(bytes.fromhex(vectors["vectors"][0]["envelope"])).payload
    with pytest.raises(EnvelopeError, match="kind-9 payload, but the learned model .* is version 2"):
        codec4.decode([Envelope(codec4.wire_id, Kind.LEARNED3_LOSSLESS, payload)])
    no_quantum = Codec(codec5.bundle)
    no_quantum.learned_records.lossless = None  # what a model of data without a quantum knows
    kind9 = Envelope(no_quantum.wire_id, Kind.LEARNED3_LOSSLESS, payload)
    _, v5 = golden_set("bundle_v5")
    kind8 = next(unpack(bytes.fromhex(v["envelope"])) for v in v5["vectors"] if "lossless" in v["name"])
    # a whole kind-8 record passing the checks first does not let a kind-9 one skip them
    for decode in (no_quantum.decode, lambda envs: no_quantum.decode_one(envs[-1])):
        with pytest.raises(EnvelopeError, match="kind-9 payload .* has no lossless bound"):
            decode([kind8, kind9])


def test_kind_8_and_kind_9_records_of_one_model_decode_in_one_batch(lossless) -> None:
    codec, lossless_vectors, _ = lossless
    _, v5 = golden_set("bundle_v5")
    ours = lossless_vectors["vectors"]
    pairs = zip(v5["vectors"][: len(ours)], ours, strict=True)
    vectors = [v for pair in pairs for v in pair] + v5["vectors"][len(ours) :]
    decoded, bounds = decode_vectors(codec, {"vectors": vectors})
    assert {bytes.fromhex(v["envelope"])[1] for v in vectors} >= {0x58, 0x69}
    for v, got, bound in zip(vectors, decoded, bounds, strict=True):
        assert np.array_equal(got.view(np.uint32), np.asarray(v["decoded_float32_bits"], np.uint32)), v[
            "name"
        ]
        assert 0.99 * v["error_bound"] < bound <= v["error_bound"], v["name"]
