"""A per-record serializer's path, :meth:`Codec.encode_one`, writes what :meth:`Codec.encode_payloads` writes
for a batch of one, record after record: the same bytes, the same kinds, and the same choice of which records
the classical coder also tries (the learned model's trials), through the comparing phase and the sampling
phase that follows it."""

from __future__ import annotations

import sys

import numpy as np

from compressor.bundle import load_bundle
from compressor.codec import Codec
from compressor.envelope import Kind, unpack
from compressor.learned.choice import COMPARE, SAMPLE
from tests.golden_sets import GOLDEN


def _walk(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(np.cumsum(rng.standard_normal((n, 64)), axis=1), 2).astype(np.float32)


def _both_ways(bundle, records: np.ndarray, bound: float | None) -> tuple[Codec, Codec, list[int]]:  # noqa: ANN001
    one, batch = Codec(bundle, error_bound=bound), Codec(bundle, error_bound=bound)
    kinds = []
    for i, row in enumerate(records):
        length = 50 if i % 7 == 3 else None
        got = one.encode_one(row, length)
        assert got == batch.encode_payloads(row[None], [length])[0], (bound, i)
        kinds.append(unpack(got).kind)
    return one, batch, kinds


def test_learned_records_one_by_one_match_the_batch_of_one_through_both_trial_phases() -> None:
    bundle = load_bundle(GOLDEN / "bundle_v3")  # W=32 x 2 channels, with a learned model and a lattice
    sys.path.insert(0, str(GOLDEN))
    from make_bundle_v3 import series

    records = np.vstack([series(), series()[::-1]])
    assert len(records) > COMPARE + 3 * SAMPLE
    for i in range(0, len(records), 9):
        records[i, (5 * i) % 64] = (np.nan, np.inf, -np.inf)[(i // 9) % 3]  # off the grid: classical only
    for bound in (0.05, 1.9):
        one, batch, kinds = _both_ways(bundle, records, bound)
        assert Kind.LEARNED in kinds and ({Kind.BOUNDED, Kind.LATTICE} & set(kinds))
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
