"""NAB scoring rules checked on hand-computed cases (NAB v1.1 sweeper/runner semantics)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from compressor.applications.nab_scoring import (
    Profile,
    load_profiles,
    normalized_score,
    point_weights,
    probationary_length,
    scaled_sigmoid,
    score_file,
    window_indices,
)

STANDARD = Profile("standard", tp_weight=1.0, fp_weight=0.11, fn_weight=1.0)
LOW_FN = Profile("reward_low_FN_rate", tp_weight=1.0, fp_weight=0.11, fn_weight=2.0)
DATA_DIR = Path(
    os.environ.get("LATENTWIRE_DATA_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)


def sig(x: float) -> float:
    return 2 / (1 + math.exp(5 * x)) - 1


def flags(n: int, *at: int) -> np.ndarray:
    out = np.zeros(n, bool)
    out[list(at)] = True
    return out


def test_scaled_sigmoid_reference_values():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)  # left edge of a window
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)  # right edge
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0 and scaled_sigmoid(10.0) == -1.0


def test_probationary_length():
    assert probationary_length(1000) == 150
    assert probationary_length(1127) == 169
    assert probationary_length(22695) == 750  # capped at 15% of 5000


# one window [400, 499] (width 100) in a series of 1000 points; probation = 150 points
N, WIN = 1000, [(400, 499)]


def test_detection_at_left_edge_scores_tp_weight():
    s = score_file(flags(N, 400), WIN, STANDARD)
    assert s.raw == pytest.approx(1.0)
    assert normalized_score([s]) == pytest.approx(100.0)


def test_detection_at_right_edge_scores_almost_nothing():
    s = score_file(flags(N, 499), WIN, STANDARD)
    assert s.raw == pytest.approx(sig(-1 / 100) / sig(-1.0))
    assert 0 < s.raw < 0.03


def test_detection_in_the_middle_and_earliest_counts():
    # position -(499 - 450 + 1) / 100 = -0.5
    expected = sig(-0.5) / sig(-1.0)
    assert score_file(flags(N, 450), WIN, STANDARD).raw == pytest.approx(expected)
    assert score_file(flags(N, 450, 470, 499), WIN, STANDARD).raw == pytest.approx(expected)
    assert score_file(flags(N, 450, 470), WIN, STANDARD).detected_windows == 1
    weight, which = point_weights(N, WIN, STANDARD)  # precomputed weights are used as given
    assert score_file(flags(N, 450), WIN, STANDARD, weights=(2 * weight, which)).raw == pytest.approx(
        2 * expected
    )


def test_false_positive_before_any_window_costs_fp_weight():
    s = score_file(flags(N, 300), WIN, STANDARD)
    assert s.raw == pytest.approx(-1.0 - 0.11)  # missed window and a full-weight FP
    assert s.false_detections == 1


def test_false_positive_after_a_window_is_weighted_by_distance():
    # just after the right edge: |499 - 500| / (100 - 1)
    s = score_file(flags(N, 400, 500), WIN, STANDARD)
    assert s.raw == pytest.approx(1.0 + 0.11 * sig(1 / 99))
    # far after (>= 3 widths): full FP weight
    assert score_file(flags(N, 400, 900), WIN, STANDARD).raw == pytest.approx(1.0 - 0.11)


def test_probationary_detections_are_ignored():
    s = score_file(flags(N, 10, 100, 400), WIN, STANDARD)
    assert s.raw == pytest.approx(1.0) and s.false_detections == 0


def test_missed_window_and_null_detector_normalize_to_zero():
    none = score_file(np.zeros(N, bool), WIN, LOW_FN)
    assert none.raw == -2.0 and none.null == -2.0 and none.perfect == 1.0
    assert normalized_score([none]) == 0.0
    # low-FN profile: half the windows found at their left edge -> raw = 1 - 2 = -1 of null -4, perfect 2
    two = [(300, 349), (600, 649)]
    half = score_file(flags(N, 300), two, LOW_FN)
    assert half.raw == pytest.approx(-1.0)
    assert normalized_score([half]) == pytest.approx(100 * (-1 + 4) / (2 + 4))


def test_corpus_normalization_adds_files():
    a = score_file(flags(N, 400), WIN, STANDARD)
    b = score_file(np.zeros(N, bool), WIN, STANDARD)
    assert normalized_score([a, b]) == pytest.approx(100 * (0.0 + 2) / (2 + 2))


def test_point_weights_layout():
    w, which = point_weights(N, WIN, STANDARD)
    assert which[399] == -1 and which[400] == 0 and which[499] == 0 and which[500] == -1
    assert w[400] == pytest.approx(1.0) and w[0] == pytest.approx(-0.11)
    assert np.all(np.diff(w[400:500]) < 0)  # earlier is better


def test_window_indices_match_timestamps():
    ts = [f"2014-01-01 00:{m:02d}:00" for m in range(60)]
    assert window_indices(ts, [["2014-01-01 00:10:00.000000", "2014-01-01 00:19:00.000000"]]) == [(10, 19)]


def test_profiles_file_matches_published_weights():
    path = DATA_DIR / "nab" / "profiles.json"
    if not path.is_file():
        pytest.skip(f"NAB profiles not found under {DATA_DIR}")
    profiles = load_profiles(path)
    assert profiles["standard"] == STANDARD
    assert profiles["reward_low_FP_rate"].fp_weight == 0.22
    assert profiles["reward_low_FN_rate"] == LOW_FN


def test_nab_windows_follow_probation():
    """Every labelled NAB window starts after its file's probationary period, so null = -fn per window."""
    labels = DATA_DIR / "nab" / "labels" / "combined_windows.json"
    if not labels.is_file():
        pytest.skip(f"NAB labels not found under {DATA_DIR}")
    windows = json.loads(labels.read_text())
    assert sum(len(v) for v in windows.values()) == 116
    name = "realKnownCause/nyc_taxi.csv"
    lines = (DATA_DIR / "nab" / "data" / name).read_text().splitlines()[1:]
    ts = [line.split(",")[0] for line in lines]
    idx = window_indices(ts, windows[name])
    assert len(idx) == len(windows[name]) and all(left >= probationary_length(len(ts)) for left, _ in idx)


def test_benchmark_earlier_likelihood_is_causal_and_alarms_are_refractory():
    from benchmarks.nab_benchmark import likelihood
    from compressor.applications.causal_detector import alarms

    rng = np.random.default_rng(0)
    errors = rng.lognormal(size=400)
    changed = errors.copy()
    changed[300:] *= 50.0  # a future anomaly
    a, b = likelihood(errors, 15, 5), likelihood(changed, 15, 5)
    np.testing.assert_array_equal(a[:300], b[:300])  # scores up to t never see data after t
    assert b[305] > 0.999 and 0.0 <= a.min() and a.max() <= 1.0
    flags = alarms(b, 0.999, quiet=50)
    assert flags[300:350].sum() == 1  # one alarm for the event, then silence
