"""A per-record serializer's path, :meth:`Codec.encode_one`, writes what :meth:`Codec.encode_payloads` writes
for a batch of one, record after record: the same bytes, the same kinds, and the same choice of which records
the classical coder also tries (the learned model's trials), through the comparing phase and the sampling
phase that follows it. A per-record deserializer's path, :meth:`Codec.decode_one`, gives what
:meth:`Codec.decode` gives, bit for bit, and refuses what it refuses."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from compressor.bundle import load_bundle
from compressor.codec import Codec
from compressor.envelope import Envelope, Kind, unpack
from compressor.errors import LatentwireError
from compressor.learned.choice import COMPARE, RUN, SAMPLE
from tests.golden_sets import GOLDEN


def _walk(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(np.cumsum(rng.standard_normal((n, 64)), axis=1), 2).astype(np.float32)


def _series() -> np.ndarray:
    """The records the golden learned model was trained on (the learned coder wins on them)."""
    sys.path.insert(0, str(GOLDEN))
    from make_bundle_v3 import series

    return series()


def _both_ways(bundle, records: np.ndarray, bound: float | None) -> tuple[Codec, Codec, list[int]]:  # noqa: ANN001
    """Encode ``records`` one by one through both paths and decode each envelope through both paths
    (a third codec, as a consumer); assert the same bytes and the same float32 bits."""
    one, batch, consumer = (Codec(bundle, error_bound=bound) for _ in range(3))
    kinds = []
    for i, row in enumerate(records):
        length = 50 if i % 7 == 3 else None
        got = one.encode_one(row, length)
        assert got == batch.encode_payloads(row[None], [length])[0], (bound, i)
        envelope = unpack(got)
        kinds.append(envelope.kind)
        values = consumer.decode_one(envelope)
        assert values.shape == (length or 64,)
        assert np.array_equal(values.view(np.uint32), consumer.decode([envelope])[0].view(np.uint32))
    return one, batch, kinds


@pytest.mark.parametrize(
    ("golden", "kind"),
    [("bundle_v3", Kind.LEARNED), ("bundle_v4", Kind.LEARNED2), ("bundle_v5", Kind.LEARNED3)],
)
def test_learned_records_one_by_one_match_the_batch_of_one_through_both_trial_phases(golden, kind) -> None:  # noqa: ANN001
    bundle = load_bundle(GOLDEN / golden)  # W=32 x 2 channels, with a learned model and a lattice
    records = np.vstack([_series(), _series()[::-1]])
    assert len(records) > COMPARE + 3 * SAMPLE
    for i in range(0, len(records), 9):
        records[i, (5 * i) % 64] = (np.nan, np.inf, -np.inf)[(i // 9) % 3]  # off the grid: classical only
    for bound in (0.05, 1.9):
        one, batch, kinds = _both_ways(bundle, records, bound)
        assert kind in kinds and ({Kind.BOUNDED, Kind.LATTICE} & set(kinds))
        trials_one, trials_batch = one.learned_records.trials, batch.learned_records.trials
        assert trials_one._stats == trials_batch._stats and trials_one._countdown == trials_batch._countdown
        assert trials_one._countdown  # the classical coder was sampled, not run on every record


def test_fixed_rate_and_classical_records_one_by_one_match_the_batch_of_one() -> None:
    bundle = load_bundle(GOLDEN / "bundle_v3")
    records = _walk(40, 12)
    _, _, kinds = _both_ways(bundle, records, None)
    assert set(kinds) == {Kind.FIXED_RATE}
    one, batch = (
        Codec(bundle, error_bound=0.05, learned=False),
        Codec(bundle, error_bound=0.05, learned=False),
    )
    for row in records:
        assert one.encode_one(row) == batch.encode_payloads(row[None])[0]


def test_decode_one_refuses_what_decode_refuses() -> None:
    bundle = load_bundle(GOLDEN / "bundle_v3")
    codec = Codec(bundle)
    good = unpack(Codec(bundle, error_bound=0.5).encode_one(_series()[0]))
    assert good.kind == Kind.LEARNED
    bad = [
        Envelope(b"\0\0\0\0", Kind.FIXED_RATE, b"\0" * bundle.quantizer.payload_size),
        Envelope(codec.wire_id, Kind.FIXED_RATE, b"\0" * 3),
        Envelope(codec.wire_id, Kind.EVENT, b"\0" * 8),
        Envelope(codec.wire_id, good.kind, good.payload, 65),
        Envelope(codec.wire_id, good.kind, b""),
        Envelope(codec.wire_id, good.kind, b"\x7e" + good.payload[1:]),  # a preset bound the model lacks
    ]
    for envelope in bad:
        with pytest.raises(LatentwireError) as batch:
            codec.decode([envelope])
        with pytest.raises(type(batch.value)):
            codec.decode_one(envelope)


def test_fixed_rate_one_record_steps_are_numpys_bit_for_bit_including_clipped_latents() -> None:
    codec = Codec(load_bundle(GOLDEN / "bundle_v3"))
    rng = np.random.default_rng(14)
    records = (_walk(300, 15) * 10.0 ** rng.uniform(-2, 3, (300, 1))).astype(np.float32)
    quantizer = codec.bundle.quantizer
    codes = quantizer.quantize(codec.latents(records))
    assert (codes == 0).any() and (codes == quantizer.levels - 1).any()  # some latents clip
    for row in records:
        body = codec._fixed_one.encode(codec._encoder, row)
        assert body == quantizer.to_bytes(quantizer.quantize(codec.latents(row[None])))[0]
        want = codec.reconstruct(quantizer.from_bytes([body]))[0]
        got = codec._fixed_one.decode(codec._decoder, body)
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_where_the_learned_coder_does_not_pay_it_codes_a_run_of_records_both_paths_alike() -> None:
    bundle = load_bundle(GOLDEN / "bundle_v4")
    records = _series()[: 3 * SAMPLE]
    one, batch, whole = (Codec(bundle, error_bound=0.05) for _ in range(3))
    code = one.error_bound.code
    for codec in (one, batch, whole):  # as if the classical payloads had been 10x smaller so far
        codec.learned_records.trials.record(code, np.full(COMPARE, 1000), np.full(COMPARE, 100))
    kinds = []
    for row in records:
        got = one.encode_one(row)
        assert got == batch.encode_payloads(row[None])[0]
        kinds.append(unpack(got).kind)
    trials_one, trials_batch = one.learned_records.trials, batch.learned_records.trials
    assert trials_one._stats == trials_batch._stats
    assert trials_one._learned_countdown == trials_batch._learned_countdown
    assert trials_one._stats[code][0] == COMPARE + RUN  # the first run of records coded both ways
    learned = [i for i, k in enumerate(kinds) if k == Kind.LEARNED2]
    assert learned and set(learned) <= set(range(RUN))
    whole_kinds = [unpack(p).kind for p in whole.encode_payloads(records)]
    assert [i for i, k in enumerate(whole_kinds) if k == Kind.LEARNED2] == learned
    assert whole.learned_records.trials._stats[code][0] == COMPARE + RUN
