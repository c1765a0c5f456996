"""The error-bounded encoder's one-record path writes the batch encoder's bytes: its compiled kernels compute
exactly what the NumPy code computes for a batch of one (grid, estimates, scale classes), and a record
encoded through it gives the same payload, decoded values and grid as the batch code."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.bounded import context, grid, record_kernel
from compressor.bounded.codec import codec_for_bundle
from compressor.bounded.one_record import _PENALTY
from compressor.bounded.tables import class_cost_coefficients
from compressor.bundle import load_bundle
from compressor.error_bound import ErrorBound
from tests.golden_sets import GOLDEN


def _values(rng: np.random.Generator, n: int) -> np.ndarray:
    x = (rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 8, n)).astype(np.float32)
    x[rng.integers(n, size=n // 20)] = np.nan
    x[rng.integers(n, size=n // 20)] = np.inf
    x[rng.integers(n, size=n // 20)] = -3e38
    x[rng.integers(n, size=n // 20)] = 1e-40  # subnormal
    return x


@pytest.mark.parametrize("bound", [1e-30, 1e-7, 0.01, 0.5, 3.0, 1e5, 1e30])
def test_quantize_one_is_grid_quantize(bound: float) -> None:
    rng = np.random.default_rng(int(bound * 1e3) % 1000)
    x = _values(rng, 4096)
    steps = np.where(rng.random(4096) < 0.5, 2.0 * bound, bound * rng.integers(1, 9, 4096))
    q, raw = grid.quantize(x, bound, steps)
    q1, raw1, n_raw = record_kernel.quantize_one(x, steps, bound)
    assert np.array_equal(q, q1) and np.array_equal(raw, raw1)
    assert n_raw == int(raw.sum()) > 0


@pytest.mark.parametrize(("cols", "rows"), [(1, 128), (1, 100), (2, 32), (8, 8), (3, 300), (1, 4096)])
def test_estimates_and_classes_match_the_batch_code(cols: int, rows: int) -> None:
    rng = np.random.default_rng(cols * 1000 + rows)
    a, b, _ = class_cost_coefficients()
    for _ in range(50):
        scale = 10.0 ** rng.uniform(-1, 6)
        r = np.rint(rng.laplace(0, scale, (cols, rows))).astype(np.int64)
        cost = record_kernel.block_costs(r, context.BLOCK, a, b)
        sums, lengths = context.block_sums(r[None])
        assert record_kernel.greedy_bits_one(cost) == context.greedy_bits(sums, lengths)[0]
        classes, _ = context.choose_classes(sums, lengths)
        assert np.array_equal(record_kernel.choose_classes_one(cost, _PENALTY), classes[0])


def _batch_and_one(bundle, records: np.ndarray, bound: float) -> int:  # noqa: ANN001
    """Encode records one by one through both paths; assert the same results; return how many records
    took the one-record path."""
    fast, batch = codec_for_bundle(bundle), codec_for_bundle(bundle)
    batch.encoder._one.encode = lambda x, code: None
    taken = 0
    original = fast.encoder._one.encode

    def counted(x: np.ndarray, code: int):  # noqa: ANN202
        nonlocal taken
        out = original(x, code)
        taken += out is not None
        return out

    fast.encoder._one.encode = counted
    e = ErrorBound(bound)
    for row in records:
        got, want = fast.encode(row[None], e), batch.encode(row[None], e)
        assert got[0] == want[0], (bound, row)
        assert np.array_equal(got[1].view(np.uint32), want[1].view(np.uint32))
        assert np.array_equal(got[2], want[2])
    if fast.encoder.probe is not None:
        assert fast.encoder.probe.losses == batch.encoder.probe.losses
    return taken


def _spoil(records: np.ndarray) -> np.ndarray:
    out = records.copy()
    for i in range(0, len(out), 5):
        out[i, (7 * i) % out.shape[1]] = (np.nan, np.inf, -np.inf, 3e38)[(i // 5) % 4]
    return out


def test_series_records_take_the_one_record_path_with_the_same_bytes() -> None:
    bundle = load_bundle(GOLDEN / "bundle_v3")  # W=32 x 2 channels, with an autoencoder and a lattice
    rng = np.random.default_rng(3)
    walk = np.round(np.cumsum(rng.standard_normal((60, 64)), axis=1), 2).astype(np.float32)
    records = np.vstack([walk, _spoil(walk[:20])])
    taken = sum(_batch_and_one(bundle, records, bound) for bound in (0.004, 0.05, 0.5, 5.0))
    assert taken >= 3 * len(records)


def test_image_records_fall_back_where_fitted_tables_compete() -> None:
    from sklearn.datasets import load_digits

    bundle = load_bundle(GOLDEN / "bundle_v2")  # 8 x 8 digits on a lattice of 1, with fitted tables
    digits = load_digits().data.astype(np.float32)[1000:1060]
    records = np.vstack([digits, _spoil(digits[:15])])
    taken = {bound: _batch_and_one(bundle, records, bound) for bound in (0.2, 1.0, 2.5, 5.0)}
    assert taken[2.5] == len(records)  # plain grid
    assert taken[0.2] < len(records)  # the lattice's fitted tables: the batch code


def test_autoencoder_estimates_of_one_record_match_the_batch_code() -> None:
    from compressor.bounded.autoencoder import AE_PREDICTORS, ae_forward

    codec = codec_for_bundle(load_bundle(GOLDEN / "bundle_v3"))
    probe, p = codec.encoder.probe, codec.params
    assert probe is not None
    rng = np.random.default_rng(5)
    for _ in range(40):
        scale = 10.0 ** rng.uniform(0, 6)
        q = np.rint(rng.normal(0, scale, (1, p.rows, p.cols))).astype(np.int64)
        pred = q + np.rint(rng.laplace(0, scale / 50, q.shape)).astype(np.int64)
        for name in AE_PREDICTORS:
            r, bits = probe._estimate(name, q, pred)
            want_r = ae_forward(name, q, pred).transpose(0, 2, 1)
            assert np.array_equal(r, want_r)
            assert bits[0] == context.greedy_bits(*context.block_sums(want_r))[0]
