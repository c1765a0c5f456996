"""Stein's unbiased risk estimate and the blend it chooses when the noise std is known."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.applications import smoothers, sure

WINDOW, CHANNELS, RECORDS = 128, 3, 40
SIGMA = np.tile(np.array([0.3, 1.0, 2.0]), WINDOW)  # per position, one std per channel
GROUPS = np.tile(np.arange(CHANNELS), WINDOW)


def _sines(seed: int = 1) -> np.ndarray:
    t = np.arange(WINDOW)[None, :, None]
    freq = np.arange(1, CHANNELS + 1)[None, None, :] / 64
    phase = np.random.default_rng(seed).uniform(0, 6, (RECORDS, 1, CHANNELS))
    return (50 + 10 * np.sin(2 * np.pi * freq * t + phase)).reshape(RECORDS, -1)


def _noisy(clean: np.ndarray, seed: int) -> np.ndarray:
    return clean + np.random.default_rng(seed).standard_normal(clean.shape) * SIGMA


def _savgol(v: np.ndarray) -> np.ndarray:
    return smoothers.savgol(v, WINDOW, CHANNELS)


def _true_error(out: np.ndarray, clean: np.ndarray) -> np.ndarray:
    return np.bincount(GROUPS, weights=((out - clean) ** 2).sum(axis=0), minlength=CHANNELS)


def test_savgol_diagonal_is_the_filter_matrix_diagonal():
    diag = smoothers.savgol_diagonal(WINDOW * CHANNELS, WINDOW, CHANNELS)
    # columns of the filter matrix: the response to a unit impulse at each position of one record
    impulses = np.eye(WINDOW * CHANNELS)
    np.testing.assert_allclose(diag, np.diag(_savgol(impulses)), atol=1e-6)
    assert diag[CHANNELS * 20] == pytest.approx(89 / 429)  # the 11-tap quadratic filter's centre tap
    assert diag[0] > diag[CHANNELS * 20]  # the edge fits follow the record more closely


def test_sure_of_a_linear_smoother_matches_its_true_error_in_expectation():
    clean = _sines()
    div = sure.linear_divergence(
        smoothers.savgol_diagonal(WINDOW * CHANNELS, WINDOW, CHANNELS), SIGMA, RECORDS, GROUPS, CHANNELS
    )
    estimates, truths = [], []
    for seed in range(30):
        y = _noisy(clean, seed)
        out = _savgol(y)
        estimates.append(sure.sure(out, y, SIGMA, div, GROUPS))
        truths.append(_true_error(out, clean))
    estimate, truth = np.mean(estimates, axis=0), np.mean(truths, axis=0)
    np.testing.assert_allclose(estimate, truth, rtol=0.03)
    # without the divergence term the estimate would be far off: the test can tell
    noise = RECORDS * np.bincount(GROUPS, weights=SIGMA**2, minlength=CHANNELS)
    assert np.all(np.abs(estimate - 2 * div - truth) > 0.2 * truth)
    assert np.all(truth < noise)  # and the smoother does help these sines


def test_monte_carlo_divergence_matches_the_exact_one():
    y = _noisy(_sines(), 0)
    exact = sure.linear_divergence(
        smoothers.savgol_diagonal(WINDOW * CHANNELS, WINDOW, CHANNELS), SIGMA, RECORDS, GROUPS, CHANNELS
    )
    estimate = sure.mc_divergence(_savgol, y, SIGMA, GROUPS, CHANNELS, probes=16)
    np.testing.assert_allclose(estimate, exact, rtol=0.05)


def _blend_error(clean: np.ndarray, y: np.ndarray, useless: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True error per channel of the SURE-chosen blend of {y, useless, savgol, wavelet}, and of y."""

    def wavelet(v: np.ndarray) -> np.ndarray:
        return smoothers.wavelet(v, WINDOW, CHANNELS)

    cands = np.stack([y, useless, _savgol(y), wavelet(y)])
    n = len(y)
    divs = np.stack(
        [
            sure.linear_divergence(np.ones(y.shape[1]), SIGMA, n, GROUPS, CHANNELS),
            np.zeros(CHANNELS),  # the useless candidate does not depend on y
            sure.linear_divergence(
                smoothers.savgol_diagonal(y.shape[1], WINDOW, CHANNELS), SIGMA, n, GROUPS, CHANNELS
            ),
            sure.mc_divergence(wavelet, y, SIGMA, GROUPS, CHANNELS, fy=cands[3]),
        ]
    )
    centre = np.full(y.shape[1], 50.0)
    weights = sure.sure_weights(cands, y, centre, divs, GROUPS)
    return _true_error(sure.blend(cands, centre, weights, GROUPS), clean), _true_error(y, clean)


@pytest.mark.parametrize("seed", range(5))
def test_chosen_blend_is_never_worse_than_the_noisy_input_when_nothing_helps(seed):
    rng = np.random.default_rng(100 + seed)
    clean = 50 + rng.standard_normal((RECORDS, WINDOW * CHANNELS)) * 5 * SIGMA  # white: no smoother helps
    y = _noisy(clean, seed)
    useless = 50 + rng.standard_normal(y.shape) * 5 * SIGMA  # a "model" that knows nothing about y
    blended, noisy = _blend_error(clean, y, useless)
    assert np.all(blended <= noisy * 1.01), (blended, noisy)
    assert np.all(_true_error(_savgol(y), clean) > 1.5 * noisy)  # while the smoother alone hurts


def test_chosen_blend_follows_the_best_candidate_where_one_helps():
    clean = _sines()
    y = _noisy(clean, 3)
    useless = np.full(y.shape, 50.0)
    blended, noisy = _blend_error(clean, y, useless)
    best_single = np.minimum(
        _true_error(_savgol(y), clean), _true_error(smoothers.wavelet(y, WINDOW, CHANNELS), clean)
    )
    assert np.all(blended < 0.5 * noisy)
    assert np.all(blended <= best_single * 1.05), (blended, best_single)
