"""Kind 7: sensor counts converted and rounded, found inside the data's quantum at training, coded as counts
(bit-exact round trips, in another process too), and what detection must not find."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from compressor.bounded import fine_lattice, grid
from compressor.bounded.codec import BoundedCodec
from compressor.bounded.parameters import BoundedParameters
from compressor.bounded.stats import BoundedStats, fit_stats
from compressor.error_bound import ErrorBound
from compressor.errors import EnvelopeError
from tests.processes import bounded_consumer_bits

RNG = np.random.default_rng(11)
DATA_DIR = Path(
    os.environ.get("LATENTWIRE_DATA_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)
LOSSLESS = ErrorBound(4e-4)  # below half the quantum 0.001 (and 1 for the integer column)


def _counts(n: int, rows: int, cols: int) -> np.ndarray:
    """Random walks of integer counts (n, rows, cols), centred near zero."""
    steps = RNG.integers(-2, 3, size=(n, rows, cols)).cumsum(axis=1)
    return steps + RNG.integers(-150, 150, size=(n, 1, cols))


def _sensor(n: int, rows: int = 64) -> np.ndarray:
    """Records (n, rows * 3) float32 of counts converted and rounded: two columns to 3 decimals (0.066931
    and 0.035712 units per count), one to whole units with truncation toward zero (10.1 per count)."""
    k = _counts(n, rows, 3)
    x = np.empty(k.shape)
    x[..., 0] = np.round(k[..., 0] * 0.066931, 3)
    x[..., 1] = np.round(k[..., 1] * 0.035712, 3)
    x[..., 2] = np.trunc(k[..., 2] * 10.1)
    return x.astype(np.float32).reshape(n, -1)


def _codec(train: np.ndarray, layout: tuple[int, int], fine: bool = True) -> BoundedCodec:
    stats = fit_stats(train, layout)
    if not fine:
        stats.pop("fine_lattice", None)
    offset = np.asarray(train, np.float64).mean(axis=0).astype(np.float32)
    return BoundedCodec(
        BoundedParameters(layout, offset, stats, quanta=stats.get("quantum"), fine=stats.get("fine_lattice"))
    )


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(
        np.asarray(a, np.float32).view(np.uint32), np.asarray(b, np.float32).view(np.uint32)
    )


# ------------------------------------------------------------------------------------ detection


def test_counts_and_grid_integers_map_back_and_forth() -> None:
    k = np.arange(-5000, 5001, dtype=np.int64)
    for p, r, off, mirror in ((669, 10, 3, False), (101, 10, 0, True), (1941, 29, 28, False)):
        q = fine_lattice.from_counts(k, p, r, off, mirror)
        back, exact = fine_lattice.to_counts(q, p, r, off, mirror)
        assert exact.all() and np.array_equal(back, k)
        # every grid integer between two lattice points is off the lattice
        between = np.setdiff1d(np.arange(q.min(), q.max()), q)
        assert not fine_lattice.to_counts(between, p, r, off, mirror)[1].any()


def test_a_rational_lattice_is_found_despite_values_off_it() -> None:
    k = _counts(200, 64, 1).reshape(-1)
    q = fine_lattice.from_counts(k, 1941, 29, 11, False)
    noisy = q.copy()
    noisy[::2000] += 7  # 0.05 % of the values patched off the lattice
    found = fine_lattice.detect_fine(noisy)
    assert found is not None
    p, r, off, mirror = found
    assert p / r == pytest.approx(1941 / 29, rel=1e-6) and not mirror
    exact = fine_lattice.to_counts(q, p, r, off, mirror)[1]
    assert exact.all()


def test_a_whole_step_is_found_in_sparse_values_despite_a_few_at_full_resolution() -> None:
    # values spread thinly over a wide range, every one even but one in 1,500: no spacing to read a
    # step from, the common divisor holds (a driver that wrote a rare value at full resolution)
    q = np.rint(RNG.normal(size=5000) * 3000).astype(np.int64) * 2 + 40000
    q[::1500] += 1
    assert fine_lattice.detect_fine(q) == (2, 1, 0, False)
    # a larger step built of several primes, with an offset
    q12 = np.rint(RNG.normal(size=5000) * 900).astype(np.int64) * 12 + 7
    assert fine_lattice.detect_fine(q12) == (12, 1, 7, False)
    # one value in 50 off the step is too many: raw values would cost more than the step saves
    q[::50] += 1
    assert fine_lattice.detect_fine(q) is None


def test_truncation_toward_zero_is_found_as_a_mirrored_lattice() -> None:
    k = _counts(200, 64, 1).reshape(-1)
    q = np.trunc(k * 10.1).astype(np.int64)
    p, r, off, mirror = fine_lattice.detect_fine(q)
    assert mirror and p / r == pytest.approx(10.1)
    assert fine_lattice.to_counts(q, p, r, off, mirror)[1].all()


def test_a_lattice_whose_counts_are_only_partly_used_is_found() -> None:
    # percent of 1/18 rounded to hundredths, the odd counts and one even count in seven taken (as a loop
    # detector's occupancy is stored): most spacings between distinct values are two counts, a few one
    k = _counts(200, 64, 1).reshape(-1) + 400
    k = k[(k % 2 == 1) | (k % 7 == 0)]
    q = np.round(k * (100 / 18)).astype(np.int64)
    found = fine_lattice.detect_fine(q)
    assert found is not None
    p, r, off, mirror = found
    assert p / r == pytest.approx(100 / 18, rel=1e-6) and not mirror
    assert fine_lattice.to_counts(q, p, r, off, mirror)[1].all()


def test_decimal_data_and_noise_find_nothing() -> None:
    # values that use every multiple of the quantum: nothing finer to find
    assert fine_lattice.detect_fine(_counts(100, 64, 1).reshape(-1) * 1) is None
    # integers with no structure (float noise on a fine decimal grid)
    assert fine_lattice.detect_fine(np.rint(RNG.normal(size=20000) * 1e5).astype(np.int64)) is None
    # too few distinct values, and an empty column
    assert fine_lattice.detect_fine(np.repeat(np.arange(8) * 67, 100)) is None
    assert fine_lattice.detect_fine(np.zeros(0, np.int64)) is None
    # training statistics of decimal walks keep no fine lattice
    walk = (_counts(60, 64, 2) * 0.01).astype(np.float32).reshape(60, -1)
    assert "fine_lattice" not in fit_stats(walk, (64, 2))


def test_training_statistics_keep_the_fine_lattice_per_column() -> None:
    stats = fit_stats(_sensor(200), (64, 3))
    fine = stats["fine_lattice"]
    assert [f[0] / f[1] for f in fine] == pytest.approx([66.931, 35.712, 10.1], rel=1e-3)
    assert [f[3] for f in fine] == [False, False, True]
    assert BoundedStats.from_json(json.loads(json.dumps(stats))).to_json()["fine_lattice"] == fine


# -------------------------------------------------------------------------------------- coding


def test_records_go_as_counts_bit_exactly_and_smaller() -> None:
    x = _sensor(300)
    codec, plain = _codec(x[:200], (64, 3)), _codec(x[:200], (64, 3), fine=False)
    bodies, decoded, grids = codec.encode(x[200:], LOSSLESS)
    assert (grids == grid.FINE).all()
    out, _ = codec.decode(bodies, grids)
    assert _same_bits(out, x[200:]) and _same_bits(decoded, x[200:])
    before, _, before_grids = plain.encode(x[200:], LOSSLESS)
    assert (before_grids == grid.LATTICE).all()
    assert sum(map(len, bodies)) < 0.8 * sum(map(len, before))
    # one record at a time: the same bytes as in the batch
    one, _, one_grid = codec.encode(x[200:201], LOSSLESS)
    assert one == bodies[:1] and one_grid.tolist() == [grid.FINE]


def test_values_off_the_fine_lattice_go_raw_or_the_record_goes_on_the_lattice() -> None:
    x = _sensor(230)
    codec = _codec(x[:200], (64, 3))
    live = x[200:].astype(np.float64)
    live[0, 3] += 0.001  # one value off the fine lattice: raw in a kind-7 record
    live[1, ::3] += 0.001  # every value of column 0 off it: the record goes on the lattice
    live = np.round(live, 3).astype(np.float32)  # still on the decimal quantum
    live[2, 4] = np.nan
    bodies, decoded, grids = codec.encode(live, LOSSLESS)
    assert grids[0] == grid.FINE and grids[1] == grid.LATTICE and grids[2] == grid.FINE
    out, _ = codec.decode(bodies, grids)
    assert _same_bits(out, live) and _same_bits(decoded, live)


def test_larger_bounds_code_no_counts() -> None:
    x = _sensor(230)
    codec = _codec(x[:200], (64, 3))
    for bound in (0.002, 0.05):
        bodies, decoded, grids = codec.encode(x[200:], ErrorBound(bound))
        assert not (grids == grid.FINE).any()
        out, _ = codec.decode(bodies, grids)
        assert np.abs(out.astype(np.float64) - x[200:]).max() <= bound


@pytest.mark.parametrize(
    ("rel", "columns", "rows"),
    [
        ("ett/ETTh1.csv", (1, 2, 3, 4, 5, 6, 7), 128),
        ("daphnet/S06R02E0.csv", (1, 2, 3, 4, 5, 6, 7, 8, 9), 128),
    ],
)
def test_shared_sensor_data_round_trips_bit_exactly_as_counts(rel: str, columns: tuple, rows: int) -> None:
    path = DATA_DIR / rel
    if not path.is_file():
        pytest.skip(f"shared data file {rel} not found under {DATA_DIR} (set LATENTWIRE_DATA_DIR)")
    values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=columns, dtype=np.float64)
    n = len(values) // rows
    records = values[: n * rows].astype(np.float32).reshape(n, rows * len(columns))
    half = n // 2
    codec = _codec(records[:half], (rows, len(columns)))
    plain = _codec(records[:half], (rows, len(columns)), fine=False)
    assert codec.params.fine is not None
    bound = ErrorBound(0.49 * float(np.nanmin(codec.params.quanta)))
    bodies, decoded, grids = codec.encode(records[half:], bound)
    out, _ = codec.decode(bodies, grids)
    assert _same_bits(out, records[half:]) and _same_bits(decoded, records[half:])
    assert (grids == grid.FINE).mean() > 0.5
    before, _, _ = plain.encode(records[half:], bound)
    assert sum(map(len, bodies)) < 0.95 * sum(map(len, before))


def test_a_consumer_process_with_one_blas_thread_decodes_the_same_bits() -> None:
    x = _sensor(260)
    stats = fit_stats(x[:200], (64, 3))
    offset = x[:200].astype(np.float64).mean(axis=0).astype(np.float32)
    codec = BoundedCodec(
        BoundedParameters((64, 3), offset, stats, quanta=stats["quantum"], fine=stats["fine_lattice"])
    )
    bodies, decoded, grids = codec.encode(x[200:], LOSSLESS)
    assert (grids == grid.FINE).all()
    got = bounded_consumer_bits((64, 3), offset, stats, bodies, grids)
    assert got == decoded.view(np.uint32).reshape(-1).tolist()


# --------------------------------------------------------------------------------- hostile input


def test_counts_for_a_model_without_a_fine_lattice_raise_envelope_errors() -> None:
    x = _sensor(230)
    bodies, _, grids = _codec(x[:200], (64, 3)).encode(x[200:], LOSSLESS)
    with pytest.raises(EnvelopeError, match="fine lattice"):
        _codec(x[:200], (64, 3), fine=False).decode(bodies[:1], [grid.FINE])
    # a record of a bound where no column is coded as counts, handed in as counts
    coarse, _, other = _codec(x[:200], (64, 3)).encode(x[200:201], ErrorBound(0.05))
    assert other[0] != grid.FINE
    with pytest.raises(EnvelopeError):
        _codec(x[:200], (64, 3)).decode(coarse, [grid.FINE])
    with pytest.raises(ValueError, match="grid"):
        _codec(x[:200], (64, 3)).decode(bodies[:1], [3])


def test_corrupt_count_payloads_raise_only_envelope_errors() -> None:
    x = _sensor(230)
    codec = _codec(x[:200], (64, 3))
    bodies, _, _ = codec.encode(x[200:], LOSSLESS)
    rng = np.random.default_rng(3)
    for trial in range(200):
        body = bytearray(bodies[trial % len(bodies)])
        if trial % 3 == 0:
            body[rng.integers(len(body))] ^= 1 << int(rng.integers(8))
        elif trial % 3 == 1:
            body = body[: rng.integers(len(body))]
        else:
            body = bytearray(rng.integers(0, 256, rng.integers(1, 80), dtype=np.uint8).tobytes())
        try:
            codec.decode([bytes(body)], [grid.FINE])
        except EnvelopeError:
            pass


@pytest.mark.parametrize(
    "spec",
    [[10, 20, 0, False], [669, 0, 0, False], [669, 10, 700, False], [669.5, 10, 0, False], [669, 10, 0]],
)
def test_unusable_fine_lattice_statistics_are_ignored(spec: list) -> None:
    x = _sensor(210)
    stats = fit_stats(x[:200], (64, 3))
    stats["fine_lattice"] = [spec, None, None]
    params = BoundedParameters(
        (64, 3), np.zeros(192, np.float32), stats, quanta=stats["quantum"], fine=stats["fine_lattice"]
    )
    assert params.fine is None
    bodies, _, grids = BoundedCodec(params).encode(x[200:], LOSSLESS)
    assert not (grids == grid.FINE).any()
