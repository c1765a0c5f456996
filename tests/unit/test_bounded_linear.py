"""The fitted linear predictor (wire version 7): its integer definition and exact inverse, when training
keeps it, what a record coded with it costs against the fixed predictors, its bit-exact decoding in another
process, and the records a consumer must refuse."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.bounded import grid, linear
from compressor.bounded.codec import BoundedCodec
from compressor.bounded.parameters import BoundedParameters
from compressor.bounded.stats import LAYOUT_KEY, fit_stats
from compressor.error_bound import LOSSLESS_FRACTION, ErrorBound
from compressor.errors import EnvelopeError
from tests.processes import bounded_consumer_bits

ROWS = 64


def _load(n: int, seed: int = 4) -> np.ndarray:
    """Records (n, ROWS) float32 like a server's load: a slowly moving level plus noise that reverts to it
    (AR(1), 0.3), stored to 2 decimals."""
    rng = np.random.default_rng(seed)
    size = n * ROWS
    noise = np.zeros(size)
    e = rng.normal(0, 2.0, size)
    for t in range(1, size):
        noise[t] = 0.3 * noise[t - 1] + e[t]
    level = 40 + 8 * np.sin(np.arange(size) / 700)
    return np.round(level + noise, 2).astype(np.float32).reshape(n, ROWS)


def _codec(train: np.ndarray, keep_linear: bool = True, layout7: bool = True) -> BoundedCodec:
    stats = fit_stats(train, (ROWS, 1))
    if not keep_linear:
        stats.pop("linear_predictor", None)
    if not layout7:  # as a bundle trained before wire version 7
        stats.pop(LAYOUT_KEY)
    offset = train.astype(np.float64).mean(axis=0).astype(np.float32)
    return BoundedCodec(BoundedParameters((ROWS, 1), offset, stats, quanta=stats["quantum"]))


def _reference(q: np.ndarray, coef: np.ndarray, center: np.ndarray) -> np.ndarray:
    """The definition in plain Python integers, one value at a time."""
    n, rows, cols = q.shape
    r = np.zeros_like(q)
    for i in range(n):
        for c in range(cols):
            r[i, 0, c] = int(q[i, 0, c]) - int(center[0, c])
            for t in range(1, rows):
                acc = 0
                for j in range(coef.shape[1]):
                    s = t - 1 - j
                    if s < 1:
                        break
                    d = max(min(int(q[i, s, c]) - int(q[i, s - 1, c]), linear.CLIP), -linear.CLIP)
                    acc += int(coef[c, j]) * d
                pred = (acc + (1 << (linear.BITS - 1))) >> linear.BITS
                r[i, t, c] = int(q[i, t, c]) - int(q[i, t - 1, c]) - pred
    return r


def test_residuals_follow_the_integer_definition_and_invert_exactly() -> None:
    rng = np.random.default_rng(1)
    coef = rng.integers(-linear.COEF_CAP, linear.COEF_CAP + 1, size=(3, 5))
    center = rng.integers(-1000, 1000, size=(12, 3))
    for scale in (10, 1 << 20, 4 * grid.MAX_GRID):  # changes beyond CLIP are limited in the prediction
        q = rng.integers(-scale, scale + 1, size=(4, 12, 3))
        r = linear.forward(q, coef, center)
        assert np.array_equal(r, _reference(q, coef, center))
        assert np.array_equal(linear.inverse(r, coef, center), q)


def test_training_keeps_it_where_it_pays_and_not_elsewhere() -> None:
    kept = linear.fit_linear(_load(80).astype(np.float64).reshape(80, ROWS, 1))
    assert kept is not None
    spec, scale = kept
    assert spec["bits"] == linear.BITS and len(spec["coef"]) == 1 and len(spec["coef"][0]) == linear.MAX_ORDER
    assert scale[0] > 0
    # a smooth signal: linear extrapolation (delta2) is as good, nothing to gain
    t = np.arange(80 * ROWS, dtype=np.float64)
    smooth = (100 * np.sin(t / 300)).reshape(80, ROWS, 1)
    assert linear.fit_linear(smooth) is None
    assert linear.fit_linear(np.zeros((5, 3, 1))) is None  # too short for two changes


@pytest.mark.parametrize(
    "spec",
    [
        None,
        {"bits": 12, "coef": [[1, 2]]},
        {"bits": linear.BITS, "coef": [[1, 2], [3, 4]]},
        {"bits": linear.BITS, "coef": [[1, True]]},
        {"bits": linear.BITS, "coef": [[1, linear.COEF_CAP + 1]]},
        {"bits": linear.BITS, "coef": [list(range(linear.MAX_ORDER + 1))]},
        {"bits": linear.BITS, "coef": [[]]},
    ],
)
def test_unusable_coefficients_are_ignored(spec) -> None:
    assert linear.coefficients(spec, 1) is None


def test_noisy_records_pick_it_and_come_back_exactly() -> None:
    x = _load(120)
    codec = _codec(x[:100])
    params = codec.params
    assert params.linear is not None
    lossless = ErrorBound(4e-3)  # below half the quantum 0.01
    bodies, decoded, grids = codec.encode(x[100:], lossless)
    slots = [codec.mode_of(b, int(g)) >> 1 for b, g in zip(bodies, grids, strict=True)]
    picked = [s == params.linear_slot(int(g)) for s, g in zip(slots, grids, strict=True)]
    assert sum(picked) >= len(picked) // 2, slots
    assert np.array_equal(decoded, x[100:])
    out, bounds = codec.decode(bodies, grids.tolist(), [True] * len(bodies))
    assert np.array_equal(out, x[100:])
    # and smaller than without it
    without = _codec(x[:100], keep_linear=False)
    old, _, _ = without.encode(x[100:], lossless)
    assert sum(map(len, bodies)) < sum(map(len, old))


def test_a_consumer_process_with_one_blas_thread_decodes_the_same_bits() -> None:
    x = _load(110)
    stats = fit_stats(x[:100], (ROWS, 1))
    assert "linear_predictor" in stats
    offset = x[:100].astype(np.float64).mean(axis=0).astype(np.float32)
    codec = BoundedCodec(BoundedParameters((ROWS, 1), offset, stats, quanta=stats["quantum"]))
    bodies, decoded, grids = codec.encode(x[100:], ErrorBound(0.05))
    got = bounded_consumer_bits((ROWS, 1), offset, stats, bodies, grids)
    assert got == decoded.view(np.uint32).reshape(-1).tolist()
    assert np.abs(decoded.astype(np.float64) - x[100:]).max() <= 0.05


def test_a_version_7_record_for_a_model_without_that_layout_is_refused() -> None:
    x = _load(110)
    bodies, _, grids = _codec(x[:100]).encode(x[100:102], ErrorBound(0.05))
    with pytest.raises(EnvelopeError, match="wire version 7"):
        _codec(x[:100], layout7=False).decode(bodies, grids.tolist(), [True, True])
    # that model's own records keep the version-6 alphabets and bytes: no linear slot, no lossless preset
    old = _codec(x[:100], layout7=False)
    assert (old.params.linear, old.params.lossless_code, old.params.version7) == (None, None, False)


def test_the_lossless_bound_is_a_preset_in_version_7() -> None:
    x = _load(110)
    lossless = ErrorBound(LOSSLESS_FRACTION * 0.01)  # ErrorBound.lossless of data with quantum 0.01
    new = _codec(x[:100], keep_linear=False)
    old = _codec(x[:100], keep_linear=False, layout7=False)
    assert new.params.lossless_code == lossless.code and new.params.version7
    assert lossless.code not in old.params.presets_for(True)
    a, values_a, grids = new.encode(x[100:], lossless)
    b, values_b, _ = old.encode(x[100:], lossless)
    assert np.array_equal(values_a, values_b) and np.array_equal(values_a, x[100:])
    # the same symbols, the bound named in a few bits instead of 16: one 16-bit word less per record
    assert sum(map(len, a)) <= sum(map(len, b)) - 2 * len(a) + 2
    out, bounds = new.decode(a, grids.tolist(), [True] * len(a))
    assert np.array_equal(out, x[100:]) and np.allclose(bounds, lossless.value, rtol=0.01)
    with pytest.raises(ValueError, match="flags"):
        new.decode(a, grids.tolist(), [True])


def test_corrupt_version_7_payloads_raise_only_envelope_errors() -> None:
    x = _load(110)
    codec = _codec(x[:100])
    bodies, _, grids = codec.encode(x[100:104], ErrorBound(4e-3))
    rng = np.random.default_rng(3)
    for body, g in zip(bodies, grids.tolist(), strict=True):
        for _ in range(20):
            bad = bytearray(body)
            bad[rng.integers(len(bad))] ^= 1 << int(rng.integers(8))
            try:
                out, _ = codec.decode([bytes(bad)], [g], [True])
            except EnvelopeError:
                continue
            assert out.shape == (1, ROWS)


def test_one_record_at_a_time_writes_the_batch_bytes() -> None:
    x = _load(150)
    codec = _codec(x[:100])
    e = ErrorBound(0.05)  # (at the lossless bound the fitted tables compete: the batch code always)
    codec.encode(x[100:], e)  # the encoder settles where it compares grids record by record
    batch, decoded, _ = codec.encode(x[100:], e)
    slots = set()
    for i in range(len(batch)):
        single = codec.encoder._one.encode(np.ascontiguousarray(x[100 + i]), e.code)
        assert single is not None  # the compiled one-record path, not the batch code
        (body,), values, grids = single
        assert body == batch[i]
        assert np.array_equal(values[0], decoded[i])
        slots.add(codec.mode_of(body, int(grids[0])) >> 1 == codec.params.linear_slot(int(grids[0])))
    assert True in slots  # the linear predictor among them
