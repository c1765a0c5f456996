"""Kind 2: the data's quantum found at training, records coded on its lattice (lossless below it), the fitted
tables, and the fall-back to the plain grid when live data leaves the lattice."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.bounded import grid
from compressor.bounded.codec import BoundedCodec
from compressor.bounded.lattice import column_quanta, detect_quantum
from compressor.bounded.parameters import BoundedParameters
from compressor.bounded.stats import fit_stats
from compressor.bounded.tables import ESCAPE, RADIUS, fitted_counts
from compressor.bounded.verify import bound_violations
from compressor.error_bound import ErrorBound
from compressor.errors import EnvelopeError

RNG = np.random.default_rng(7)


def _walk(n: int, rows: int, cols: int, unit: float) -> np.ndarray:
    """Random walks on multiples of ``unit`` (what a sensor that reports a fixed number of decimals sends)."""
    steps = RNG.integers(-3, 4, size=(n, rows, cols)).cumsum(axis=1) + RNG.integers(
        -50, 50, size=(n, 1, cols)
    )
    return (steps * unit).astype(np.float32).reshape(n, rows * cols)


def _codec(train: np.ndarray, layout: tuple[int, int], with_quanta: bool = True) -> BoundedCodec:
    stats = fit_stats(train, layout)
    offset = np.asarray(train, np.float64).mean(axis=0).astype(np.float32)
    return BoundedCodec(
        BoundedParameters(layout, offset, stats, quanta=stats["quantum"] if with_quanta else None)
    )


# ------------------------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    ("unit", "expected"),
    [(1.0, 1.0), (0.1, 0.1), (0.01, 0.01), (0.002, 0.002), (0.25, 0.25), (1000.0, 1000.0)],
)
def test_the_quantum_of_quantized_values_is_found(unit: float, expected: float) -> None:
    x = _walk(50, 32, 1, unit)
    assert detect_quantum(x) == pytest.approx(expected, rel=1e-9)


def test_no_quantum_in_continuous_values_or_float_noise() -> None:
    assert detect_quantum(RNG.normal(size=5000).astype(np.float32)) is None
    # values of ~1e7 on multiples of 0.1 cannot be told apart from float32 rounding
    assert detect_quantum((1e7 + np.arange(5000) * 0.1).astype(np.float32)) is None
    assert detect_quantum(np.array([0.0, 1.0, 2.0, np.nan], np.float32)) is None  # too few distinct values


def test_a_patched_reading_does_not_hide_the_quantum_but_a_pattern_of_them_does() -> None:
    x = np.arange(1, 5001, dtype=np.float64)
    x[17] = 3.14159
    assert detect_quantum(x) == 1.0
    x[::100] += 0.5
    assert detect_quantum(x) == 0.5 or detect_quantum(x) is None or detect_quantum(x) < 1.0


def test_sparse_columns_borrow_the_records_quantum() -> None:
    x = np.zeros((200, 4, 3))
    x[:, :, 1] = RNG.integers(0, 255, size=(200, 4))
    x[0, 0, 2] = 7.0  # one nonzero value: says nothing about the spacing of column 2
    assert column_quanta(x) == [1.0, 1.0, 1.0]


# -------------------------------------------------------------------------------------- steps


def test_lattice_steps_are_odd_multiples_of_the_quantum() -> None:
    u = np.array([1.0, 1.0, 1.0, np.nan, 0.001])
    # E = 0.3: lossless on integers (step 1); no quantum: 2E; E = 1: step 3; E = 1.9: step 3, finer than 2E
    steps = grid.lattice_steps(0.3, u)
    assert steps[:4].tolist() == [1.0, 1.0, 1.0, 0.6] and steps[4] == pytest.approx(0.601)
    assert grid.lattice_steps(1.0, u)[:4].tolist() == [3.0, 3.0, 3.0, 2.0]
    assert grid.lattice_steps(1.9, u)[:4].tolist() == [3.0, 3.0, 3.0, 3.8]


def test_a_lattice_finer_than_2e_is_used_only_where_its_fitted_tables_pay() -> None:
    """Integer images at E = 1.9: the lattice step 3 is finer than 2E = 3.8, but its fitted tables code
    the sparse images for fewer bytes; a smooth integer walk at E = 1.9 stays on the plain grid."""
    images = np.zeros((400, 16, 16), np.float32)
    for img in images:
        r, c = RNG.integers(2, 12, size=2)
        img[r : r + 4, c : c + 3] = RNG.integers(200, 256, size=(4, 3))
    images = images.reshape(400, -1)
    codec = _codec(images[:300], (16, 16))
    code = grid.bound_code(1.9)
    assert codec.encoder.grid_policy(code) == "choose"
    bodies, decoded, on_lattice = codec.encode(images[300:], ErrorBound(1.9))
    assert on_lattice.mean() > 0.5
    out, bounds = codec.decode(bodies, on_lattice)
    assert np.array_equal(out, decoded) and bound_violations(images[300:], out, 1.9) == 0
    plain = _codec(images[:300], (16, 16), with_quanta=False).encode(images[300:], ErrorBound(1.9))[0]
    assert sum(map(len, bodies)) < 0.9 * sum(map(len, plain))
    # after LEARN records compared one by one, the codec settles on the grid most of them chose
    assert codec.encoder.prefer_lattice.get(code) is True


def test_fitted_counts_aggregate_to_coarser_steps_with_integer_arithmetic() -> None:
    table = {"low": -4, "counts": [1, 2, 3, 4, 100, 4, 3, 2, 1], "escape": 5}
    one = fitted_counts(table, 1)
    floor = max(1, (sum(table["counts"]) + 5) >> 16)
    assert one[RADIUS] == 100 + floor and one[RADIUS - 4] == 1 + floor and one[ESCAPE] == 5 + floor
    three = fitted_counts(table, 3)
    # residuals -1, 0, 1 fall on 0; -4..-2 on -1; 2..4 on 1
    assert three[RADIUS] == 4 + 100 + 4 + floor
    assert three[RADIUS - 1] == 1 + 2 + 3 + floor and three[RADIUS + 1] == 3 + 2 + 1 + floor
    with pytest.raises(ValueError):
        fitted_counts(table, 2)


# -------------------------------------------------------------------------------------- codec


@pytest.mark.parametrize("unit", [1.0, 0.01])
def test_below_the_quantum_records_are_lossless_and_smaller_than_on_the_plain_grid(unit: float) -> None:
    layout = (64, 2)
    train, live = _walk(300, 64, 2, unit), _walk(40, 64, 2, unit)
    e = 0.3 * unit
    lattice, plain = _codec(train, layout), _codec(train, layout, with_quanta=False)
    bodies, decoded, on_lattice = lattice.encode(live, ErrorBound(e))
    assert on_lattice.all()
    out, bounds = lattice.decode(bodies, on_lattice)
    assert np.array_equal(out.view(np.uint32), decoded.view(np.uint32))
    assert np.array_equal(out, live)  # lossless
    assert np.all(bounds <= e)
    plain_bodies, _, plain_flags = plain.encode(live, ErrorBound(e))
    assert not plain_flags.any()
    assert sum(map(len, bodies)) < 0.8 * sum(map(len, plain_bodies))


def test_on_the_lattice_above_the_quantum_the_bound_holds_with_a_coarser_step() -> None:
    layout = (128, 1)
    train, live = _walk(300, 128, 1, 1.0), _walk(40, 128, 1, 1.0)
    codec = _codec(train, layout)
    bodies, decoded, on_lattice = codec.encode(live, ErrorBound(1.0))  # step 3 instead of 2
    assert on_lattice.all()
    out, bounds = codec.decode(bodies, on_lattice)
    assert np.array_equal(out, decoded)
    assert bound_violations(live, out, 1.0) == 0
    assert np.abs(out - live).max() == 1.0
    assert set(np.unique(out / 3.0 - np.rint(out / 3.0))) == {0.0}


def test_records_that_leave_the_lattice_fall_back_to_the_plain_grid() -> None:
    layout = (64, 1)
    codec = _codec(_walk(300, 64, 1, 1.0), layout)
    live = _walk(20, 64, 1, 1.0)
    live[::2] += RNG.uniform(0.1, 0.4, size=(10, 64)).astype(np.float32)  # recalibrated: off the lattice
    bodies, decoded, on_lattice = codec.encode(live, ErrorBound(0.2))
    assert on_lattice.tolist() == [False, True] * 10
    out, bounds = codec.decode(bodies, on_lattice)
    assert np.array_equal(out, decoded)
    assert bound_violations(live, out, bounds[:, None]) == 0
    # the off-lattice records are not stored raw (that would cost ~4 bytes a value)
    assert max(len(b) for b in bodies) < 64 * 2


def test_below_half_the_quantum_a_rare_finer_value_goes_raw_and_the_record_stays_lossless() -> None:
    layout = (64, 2)
    codec = _codec(_walk(300, 64, 2, 0.01), layout)
    live = _walk(4, 64, 2, 0.01)
    # one reading at a finer resolution, half a quantum off: beyond E of the lattice, it goes raw
    live[1, 5] += np.float32(0.005)
    live[2, ::2] += np.float32(0.005)  # a record that changed resolution: on the plain grid, within E
    e = ErrorBound(0.49 * 0.01)
    bodies, decoded, on_lattice = codec.encode(live, e)
    assert on_lattice.tolist() == [True, True, False, True]
    out, _ = codec.decode(bodies, on_lattice)
    assert np.array_equal(out.view(np.uint32), decoded.view(np.uint32))
    assert np.array_equal(out[[0, 1, 3]], live[[0, 1, 3]])  # lossless, the finer value raw
    assert bound_violations(live, out, e.value) == 0
    # one record at a time: the same bytes
    assert [codec.encode(live[i : i + 1], e)[0][0] for i in range(4)] == bodies


def test_fitted_tables_code_sparse_integer_images_and_a_model_without_a_lattice_refuses() -> None:
    layout = (16, 16)
    images = np.zeros((400, 16, 16), np.float32)
    for img in images:
        r, c = RNG.integers(2, 12, size=2)
        img[r : r + 4, c : c + 3] = RNG.integers(200, 256, size=(4, 3))
    images = images.reshape(400, -1)
    codec = _codec(images[:300], layout)
    assert codec.params.tables, "no fitted tables for an integer image set"
    bodies, decoded, on_lattice = codec.encode(images[300:], ErrorBound(0.1))
    assert on_lattice.all() and np.array_equal(decoded, images[300:])
    slots = [codec.mode_of(b, True) >> 1 for b in bodies]
    assert max(slots) >= len(codec.params.predictors), "the fitted tables were never chosen"
    out, _ = codec.decode(bodies, on_lattice)
    assert np.array_equal(out, images[300:])
    stats = fit_stats(images[:300], layout)
    no_quanta = BoundedCodec(BoundedParameters(layout, codec.params.offset_flat, stats))
    with pytest.raises(EnvelopeError, match="lattice"):
        no_quanta.decode(bodies[:1], [True])


def test_unreadable_lattice_statistics_mean_the_plain_grid_not_a_crash() -> None:
    layout = (64, 1)
    train = _walk(100, 64, 1, 1.0)
    stats = fit_stats(train, layout)
    stats["lattice_tables"] = ["not", "a", "dict"]
    offset = train.mean(axis=0)
    for quanta in (["x"], [None], "1.0", [1.0, 2.0]):
        codec = BoundedCodec(BoundedParameters(layout, offset, stats, quanta=quanta))  # type: ignore[arg-type]
        assert codec.params.quanta is None and codec.params.tables == {}
        bodies, decoded, on_lattice = codec.encode(train[:5], ErrorBound(0.2))
        assert not on_lattice.any()
        with pytest.raises(EnvelopeError):
            codec.decode(bodies, [True] * 5)


def test_training_measures_which_grid_pays_at_each_preset_bound(digits_bundle) -> None:
    from compressor.bounded.codec import codec_for_bundle

    codec = codec_for_bundle(digits_bundle)
    choose = [code for code in codec.params.presets if codec.encoder.grid_policy(code) == "choose"]
    assert choose, "the digits (integers 0..16) should have presets where the lattice is finer than 2E"
    preference = digits_bundle.bounded_stats.lattice_preference
    assert sorted(int(k) for k in preference) == sorted(choose)
    assert all(codec.encoder.prefer_lattice[code] == preference[str(code)] for code in choose)
