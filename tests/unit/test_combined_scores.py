"""The combined anomaly score: nearest-neighbour distance, flatness, their normalization, and the
training windows a bundle keeps for them."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from compressor.anomaly import reference_sample
from compressor.applications.combined import (
    COMPONENTS,
    causal,
    flat_length,
    flatness,
    located,
    robust_z,
)
from compressor.applications.neighbours import nearest_distances, znormalized
from compressor.bundle import MANIFEST, REFERENCE_FILE, load_bundle, save_bundle
from compressor.errors import BundleError, ModelMismatchError
from compressor.windows import sliding
from tests.training import without_learned_model

W = 32


def _sawtooth(n: int, seed: int = 0) -> np.ndarray:
    """An asymmetric periodic signal (period 40) with a little noise: reversing a stretch changes its shape."""
    t = np.arange(n)
    return ((t % 40) / 40.0 + 0.02 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


@pytest.fixture(scope="module")
def saw_bundle():  # noqa: ANN201
    from compressor.training import TrainingConfig, train

    windows = sliding(_sawtooth(2400)[:, None], W, 4)
    with without_learned_model():  # the scores use the autoencoder alone
        bundle, _ = train(
            windows, window=W, channels=1, config=TrainingConfig(epochs=15, seed=1), progress=False
        )
    return bundle


def test_znormalized_ignores_offset_and_scale_and_zeroes_a_flat_window():
    x = np.random.default_rng(1).standard_normal((1, 20)).astype(np.float32)
    np.testing.assert_allclose(znormalized(3.0 * x + 7.0, 1), znormalized(x, 1), atol=1e-6)
    assert np.all(znormalized(np.full((1, 20), 5.0), 1) == 0.0)
    two = znormalized(np.column_stack([x[0], 10 * x[0]]).reshape(1, -1), 2).reshape(20, 2)
    np.testing.assert_allclose(two[:, 0], two[:, 1], atol=1e-6)  # each channel on its own


def test_the_odd_window_is_farthest_and_a_training_copy_is_at_zero():
    series = _sawtooth(1000)
    series[600:620] = series[600:620][::-1].copy()
    windows = znormalized(sliding(series[:, None], W, 1), 1)
    reference = windows[100:101]
    d = nearest_distances(windows, reference, exclusion=W)
    assert 600 - W < int(np.argmax(d)) < 620
    assert d[100] == pytest.approx(0.0, abs=1e-6)
    every = nearest_distances(windows, reference, exclusion=W, every=8)
    np.testing.assert_allclose(every, d[::8])


def test_causal_distances_use_only_earlier_windows():
    windows = znormalized(sliding(_sawtooth(400)[:, None], W, 1), 1)
    none = np.zeros((0, windows.shape[1]))
    d = nearest_distances(windows, none, exclusion=W, causal=True)
    assert np.all(np.isinf(d[:W])) and np.all(np.isfinite(d[W:]))
    changed = windows.copy()
    changed[300:] = -changed[300:]
    np.testing.assert_array_equal(nearest_distances(changed, none, exclusion=W, causal=True)[:300], d[:300])
    offline = nearest_distances(windows, none, exclusion=W)
    assert np.all(offline <= d + 1e-12)  # offline also meets later windows


def test_flatness_counts_only_what_is_flatter_than_training():
    spread = np.array([[1.0], [0.05], [0.0], [np.nan]])
    nats = flatness(spread, np.array([0.1]))
    assert nats[0] == 0.0 and nats[1] == pytest.approx(np.log(2.0)) and nats[2] > 15 and nats[3] == 0.0
    assert np.all(flatness(spread, np.array([0.0])) == 0.0)  # training had flat stretches: none is odd
    two = flatness(np.array([[1.0, 0.01]]), np.array([0.1, 0.1]))
    assert two[0] == pytest.approx(np.log(10.0))  # the flattest channel counts
    assert flat_length(128) == 32 and flat_length(32) == 16


def test_robust_z_is_centred_on_the_median_in_log_space():
    s = np.exp(np.random.default_rng(2).standard_normal(5001))
    z = robust_z(s)
    assert abs(np.median(z)) < 1e-9 and 0.9 < np.std(z) < 1.1
    s[[3, 4]] = [np.inf, np.nan]
    z = robust_z(s)
    assert np.isposinf(z[3]) and z[4] == 0.0
    np.testing.assert_allclose(robust_z(10.0 * s)[5:], z[5:], atol=1e-9)  # scale free


def test_reference_sample_keeps_evenly_spaced_records():
    records = np.arange(40, dtype=np.float32).reshape(10, 4)
    np.testing.assert_array_equal(reference_sample(records), records)
    few = reference_sample(records, max_values=12)
    np.testing.assert_array_equal(few[:, 0], [0.0, 16.0, 36.0])


def test_a_stuck_stretch_is_located_by_flatness(saw_bundle):
    rows = _sawtooth(1500, seed=3)
    rows[900:950] = rows[900]
    combined = located(saw_bundle, rows[:, None], stride=2)
    assert 900 <= combined.peak < 950 and combined.component_at(combined.peak) == "flatness"
    assert combined.components.shape == (1500, len(COMPONENTS)) and combined.stride == 2
    np.testing.assert_allclose(combined.score, combined.components.sum(axis=1))


def test_a_reversed_stretch_is_located_by_shape(saw_bundle):
    rows = _sawtooth(1500, seed=4)
    rows[700:730] = rows[700:730][::-1].copy()
    combined = located(saw_bundle, rows[:, None], stride=2)
    assert 700 - W <= combined.peak <= 730 + W
    assert combined.component_at(combined.peak) in ("reconstruction", "neighbour")
    without = located(dataclasses.replace(saw_bundle, reference=None), rows[:, None], stride=2)
    assert 700 - W <= without.peak <= 730 + W  # old bundles: the series' own windows are the reference


def test_causal_scores_do_not_look_ahead(saw_bundle):
    rows = _sawtooth(900, seed=5)[:, None]
    later = rows.copy()
    later[600:] += 3.0
    a, b = causal(saw_bundle, rows), causal(saw_bundle, later)
    np.testing.assert_array_equal(a.score[:600], b.score[:600])
    assert b.score[600:640].max() > a.score[600:640].max() + 3.0
    assert np.all(a.score[: W - 1] == 0.0)


def test_the_reference_travels_in_the_bundle_and_is_verified(saw_bundle, tmp_path):
    assert saw_bundle.reference is not None and saw_bundle.reference.shape[1] == W
    save_bundle(saw_bundle, tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    np.testing.assert_array_equal(loaded.reference, saw_bundle.reference)
    np.save(tmp_path / "b" / REFERENCE_FILE, np.zeros((3, W), np.float32))
    with pytest.raises(ModelMismatchError, match="reference.npy does not match"):
        load_bundle(tmp_path / "b")
    save_bundle(dataclasses.replace(saw_bundle, reference=np.zeros((3, W + 1), np.float32)), tmp_path / "c")
    with pytest.raises(BundleError, match="32-value records"):
        load_bundle(tmp_path / "c")
    save_bundle(dataclasses.replace(saw_bundle, reference=None), tmp_path / "d")
    assert REFERENCE_FILE not in json.loads((tmp_path / "d" / MANIFEST).read_text())["files"]
    assert load_bundle(tmp_path / "d").reference is None
