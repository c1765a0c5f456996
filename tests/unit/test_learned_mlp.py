"""The learned predictor's MLP over many positions: float64 where exact, int64 otherwise, the same integers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from compressor.learned import kernel
from compressor.learned.coder import decode_streams, encode_streams
from compressor.learned.mlp import EXACT_LIMIT, float_exact, mlp_rows
from compressor.learned.train import fit_tables
from tests.unit.test_learned import _model, _walks

H_CAP = 1 << 26


def _reference(x: np.ndarray, c: int, w1, b1, w2, b2, hshift) -> list[int]:  # noqa: ANN001
    """The definition in Python integers (no overflow, no rounding)."""
    out = []
    for row in x.tolist():
        acc = int(b2[c])
        for u in range(w1.shape[2]):
            h = int(b1[c, u]) + sum(v * int(w1[c, f, u]) for f, v in enumerate(row))
            a = h >> int(hshift[c])
            if a > 0:
                acc += min(a, H_CAP) * int(w2[c, u])
        out.append(acc)
    return out


def _weights(rng: np.random.Generator, cols: int, hidden: int, w_bits: int, b_bits: int) -> tuple:
    w1 = rng.integers(-(2**w_bits), 2**w_bits, size=(cols, kernel.N_FEAT, hidden)).astype(np.int32)
    b1 = rng.integers(-(2**b_bits), 2**b_bits, size=(cols, hidden)).astype(np.int64)
    w2 = rng.integers(-(2**30), 2**30, size=(cols, hidden)).astype(np.int64)
    b2 = rng.integers(-(2**56), 2**56, size=cols).astype(np.int64)
    hshift = rng.integers(0, 33, size=cols).astype(np.int64)
    return w1, b1, w2, b2, hshift


def _run(x: np.ndarray, c: int, weights: tuple, exact: np.ndarray) -> list[int]:
    w1, b1 = weights[:2]
    mlp = (*weights, w1.astype(np.float64), b1.astype(np.float64), exact)
    y = np.zeros(len(x), np.int64)
    hidden = w1.shape[2]
    mlp_rows(x, len(x), c, mlp, H_CAP, np.zeros(hidden), np.zeros(hidden, np.int64), y)
    return y.tolist()


def _run_batch(x: np.ndarray, c: int, weights: tuple, exact: np.ndarray) -> list[int]:
    w1, b1 = weights[:2]
    mlp = (*weights, w1.astype(np.float64), b1.astype(np.float64), exact)
    y = np.zeros(len(x), np.int64)
    hidden = w1.shape[2]
    xf = np.zeros((kernel.BLOCK, kernel.N_FEAT))
    hf = np.zeros((kernel.BLOCK, hidden))
    kernel.mlp_batch(x, len(x), c, mlp, xf, hf, np.zeros(hidden, np.int64), y)
    return y.tolist()


def _features(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.integers(-kernel.CLIP, kernel.CLIP + 1, size=(n, kernel.N_FEAT))
    x[::5] = kernel.CLIP  # the extremes, where the partial sums are largest
    x[1::5] = -kernel.CLIP
    x[2::5, ::2] = 0
    return x.astype(np.int64)


@pytest.mark.parametrize(("w_bits", "b_bits"), [(24, 40), (28, 50), (30, 50)])
def test_both_paths_compute_the_definition(w_bits: int, b_bits: int) -> None:
    rng = np.random.default_rng(w_bits)
    weights = _weights(rng, 3, 8, w_bits, b_bits)
    x = _features(rng, 40)
    exact = float_exact(weights[0], weights[1], kernel.CLIP)
    for c in range(3):
        want = _reference(x, c, *weights)
        assert _run(x, c, weights, np.zeros(3, bool)) == want
        if exact[c]:
            assert _run(x, c, weights, np.ones(3, bool)) == want


@pytest.mark.parametrize(("w_bits", "b_bits"), [(24, 40), (28, 50), (30, 50)])
def test_the_blocked_matrix_product_computes_the_definition(w_bits: int, b_bits: int) -> None:
    """kernel.mlp_batch: a BLAS product per block of rows where float64 is exact, the int64 loop otherwise;
    more rows than one block, so a partial last block is covered."""
    rng = np.random.default_rng(w_bits + 1)
    weights = _weights(rng, 3, 8, w_bits, b_bits)
    x = _features(rng, kernel.BLOCK + 45)
    exact = float_exact(weights[0], weights[1], kernel.CLIP)
    for c in range(3):
        want = _reference(x, c, *weights)
        assert _run_batch(x, c, weights, exact) == want
        assert _run_batch(x, c, weights, np.zeros(3, bool)) == want


def test_float_is_used_only_where_every_partial_sum_stays_below_2_53() -> None:
    w1 = np.zeros((3, kernel.N_FEAT, 2), np.int32)
    b1 = np.zeros((3, 2), np.int64)
    w1[0] = 2**24  # typical: the largest first-layer weight near 2**24
    w1[1, :, 1] = 2**28  # one unit too large: 16 * 2**28 * 2**20 = 2**52, plus the bias below
    b1[1, 1] = 2**52
    w1[2, 0, 0] = 1
    b1[2, 0] = EXACT_LIMIT - kernel.CLIP  # exactly at the limit: refused
    assert float_exact(w1, b1, kernel.CLIP).tolist() == [True, False, False]
    b1[2, 0] -= 1
    assert float_exact(w1, b1, kernel.CLIP)[2]


@pytest.mark.parametrize("version", [1, 2])
def test_the_integer_path_writes_and_reads_the_same_streams(version: int) -> None:
    model = _model(3, version=version)
    q = _walks(24, 40, 3) * 50
    q[3, 5:9] = 2**40  # huge values: clipped features, escapes
    steps = np.ones(3)
    p = model.params(steps)
    assert p.exact.all()
    fast = encode_streams(model, q, steps)
    model._params[steps.tobytes()] = dataclasses.replace(p)  # a fresh copy, then forced to int64
    object.__setattr__(model._params[steps.tobytes()], "exact", np.zeros(3, bool))
    assert encode_streams(model, q, steps) == fast
    out, ok = decode_streams(model, fast, steps, (40, 3))
    assert ok.all() and np.array_equal(out, q)


def test_records_decoded_side_by_side_do_not_affect_each_other() -> None:
    model = _model(2, version=2)
    q = _walks(12, 32, 2)
    steps = np.ones(2)
    streams = encode_streams(model, q, steps)
    damaged = list(streams)
    damaged[3] = damaged[3][: len(damaged[3]) // 2 * 2 - 4]  # truncated
    damaged[7] = b"\xff" * len(damaged[7])  # an impossible state
    out, ok = decode_streams(model, damaged, steps, (32, 2))
    assert ok.tolist() == [i not in (3, 7) for i in range(12)]
    assert np.array_equal(out[ok], q[ok])
    for i in (0, 11):  # alone, the same
        alone, good = decode_streams(model, [streams[i]], steps, (32, 2))
        assert good[0] and np.array_equal(alone[0], q[i])


@pytest.mark.parametrize(("version", "signs", "levels"), [(1, 1, 1), (2, 1, 1), (3, 9, 8)])
def test_the_encoders_classes_from_every_value_at_once_are_the_decoders(
    version: int, signs: int, levels: int
) -> None:
    """kernel.coded (all magnitudes at once) against kernel.residuals (the per-value context the decoder
    rebuilds): the same residuals and classes (version 3: tables), with huge values, at the limits and past
    CTX rows."""
    model = _model(4, version=version)
    model.signs, model.levels = signs, levels
    q = np.clip(_walks(16, 3 * kernel.CTX, 4) * 20, -300, 300)
    q[2, 5, 1] += 10**9
    q[3] = -(2**39)
    p = model.params(np.array([1.0, 0.5, 2.0, 1.0]))
    thresholds = np.array([0, 3, 10, 40, 200, 1000, 5000, 20000])
    r, k, _ = kernel.residuals(q, p.predictor_args(), thresholds)
    fast_r, fast_k = kernel.coded(q, p.predictor_args(), thresholds)
    assert np.array_equal(fast_r, r) and np.array_equal(fast_k, k)
    assert len(np.unique(k)) > 4


@pytest.mark.parametrize("version", [1, 2])
def test_a_batch_large_enough_for_the_symbol_index_decodes_as_records_alone(version: int) -> None:
    """Past kernel.decode_batch's threshold, symbols are found through the bucket index: the same values,
    and the same verdict on damaged streams, as each record alone (where the whole table is searched)."""
    model = _model(3, version=version)
    q = _walks(40, 32, 3) * 7
    q[5, 3, 2] += 10**9  # an escape
    steps = np.ones(3)
    fit_tables(model, [(q, steps)])
    classes = model.freq_tables()[1].shape[0]
    reps = -(-classes * ((kernel.M >> kernel.BUCKET_BITS) + 1) // q.size) + 1
    q = np.concatenate([q] * reps)
    assert q.size >= classes * ((kernel.M >> kernel.BUCKET_BITS) + 1)
    streams = encode_streams(model, q, steps)
    streams[9] = streams[9][:-6]  # truncated
    streams[11] = streams[11][:8] + bytes(b ^ 0x33 for b in streams[11][8:])  # damaged
    out, ok = decode_streams(model, streams, steps, (32, 3))
    for i in [0, 5, 9, 11, len(q) - 1]:
        alone, good = decode_streams(model, [streams[i]], steps, (32, 3))
        assert good[0] == ok[i]
        assert np.array_equal(alone[0], out[i])
    assert not ok[9] and not ok[11] and ok.sum() == len(q) - 2
    assert np.array_equal(out[ok], q[ok])
