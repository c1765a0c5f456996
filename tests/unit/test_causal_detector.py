"""The streaming-causal detector: range novelty, the floored reconstruction likelihood, one alarm per event."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from compressor.applications.causal_detector import (
    MIN_LOG_STD,
    NOVEL_Z,
    alarms,
    causal_scores_of,
    level_z,
    novelty,
)
from compressor.applications.likelihood import LEVEL, zscores
from compressor.windows import sliding
from tests.training import without_learned_model

W = 16


def _wave(n: int, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    noise = 0.05 * np.random.default_rng(seed).standard_normal(n)
    return (np.sin(2 * np.pi * t / 50) + noise).astype(np.float32)


@pytest.fixture(scope="module")
def wave_bundle():  # noqa: ANN201
    from compressor.training import TrainingConfig, train

    windows = sliding(_wave(1500)[:, None], W, 2)
    with without_learned_model():  # the detector uses the autoencoder alone
        bundle, _ = train(
            windows, window=W, channels=1, config=TrainingConfig(epochs=8, seed=1), progress=False
        )
    return bundle


def test_novelty_is_the_excess_beyond_the_range_so_far_in_units_of_it():
    rows = np.array([0.0, 1.0, 0.5, 1.5, -1.0, 0.2, np.nan, 2.0])[:, None]
    got = novelty(rows, min_history=2)
    # row 3: range [0, 1], 0.5 above; row 4: range [0, 1.5], 1 below; row 7: range [-1, 1.5], 0.5 above
    np.testing.assert_allclose(got, [0, 0, 0, 0.5, 1.0 / 1.5, 0, 0, 0.5 / 2.5])
    assert novelty(rows, min_history=5)[3] == 0.0  # too little seen before it to judge
    with_reference = novelty(rows, np.array([[-5.0], [5.0]]), min_history=2)
    assert np.all(with_reference == 0.0)  # the training range already covers every row
    two = novelty(np.column_stack([rows[:, 0], np.zeros(8)]), min_history=2)
    np.testing.assert_allclose(two, got)  # the largest channel; a constant one is never novel


def test_novelty_beyond_a_constant_history_is_infinite():
    got = novelty(np.array([3.0] * 40 + [3.1])[:, None])
    assert np.all(got[:40] == 0.0) and np.isposinf(got[40])


def test_the_floor_silences_the_noise_of_negligible_errors():
    rng = np.random.default_rng(2)
    tiny = 1e-6 * rng.lognormal(size=2000)  # a near-perfect fit: errors spread over decades, all negligible
    assert np.abs(zscores(tiny, short=1)).max() > 2.0
    assert np.abs(zscores(tiny, short=1, floor=1e-3, min_std=MIN_LOG_STD)).max() < 0.5
    big = tiny.copy()
    big[1500:1520] = 1.0  # a real error still counts
    assert zscores(big, short=10, floor=1e-3, min_std=MIN_LOG_STD)[1510] > 5.0


def test_scores_are_causal_and_find_a_shape_change_and_a_new_extreme(wave_bundle):
    rows = _wave(3000, seed=3)
    base = causal_scores_of(wave_bundle, rows[:, None])
    changed = rows.copy()
    changed[2000:2100] = np.where(np.arange(100) % 4 < 2, 0.9, -0.9)  # a fast square wave inside the range
    changed[2700] = 3.0  # a value beyond everything seen
    got = causal_scores_of(wave_bundle, changed[:, None])
    np.testing.assert_array_equal(got.score[:2000], base.score[:2000])  # no look-ahead
    assert got.reconstruction[2000:2100].max() > level_z()
    assert got.novelty[2700] > 0 and got.score[2700] >= NOVEL_Z
    assert (base.novelty > 0).sum() <= 3  # the training range covers the ordinary wave but its noise's tails
    assert np.isnan(got.errors[: W - 1]).all() and np.all(got.score[: W - 1] == 0.0)
    flags = got.alarms()
    assert flags[2000:2100].sum() == 1 and flags[2700]
    assert base.alarms().sum() <= 5  # the ordinary wave barely alarms


def test_without_a_calibrated_threshold_there_is_no_floor(wave_bundle):
    rows = _wave(1200, seed=4)[:, None]
    floored = causal_scores_of(wave_bundle, rows)
    plain = causal_scores_of(dataclasses.replace(wave_bundle, anomaly=None), rows)
    unfloored = causal_scores_of(wave_bundle, rows, floor_fraction=0.0)
    np.testing.assert_array_equal(plain.reconstruction, unfloored.reconstruction)
    assert not np.array_equal(floored.reconstruction, plain.reconstruction)


def test_alarms_keep_quiet_after_each_alarm():
    score = np.zeros(100)
    score[[10, 12, 30, 31, 60]] = 5.0
    assert np.flatnonzero(alarms(score, 4.0, quiet=20)).tolist() == [10, 31, 60]
    assert np.flatnonzero(alarms(score, 4.0, quiet=0)).tolist() == [10, 12, 30, 31, 60]
    assert not alarms(score, 6.0).any()
    assert level_z(LEVEL) == pytest.approx(3.719, abs=1e-3)
