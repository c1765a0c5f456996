"""The NumPy forward pass of a Dense chain: one row and batches agree."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.inference import Predictor


def _plan(activations: list[str], sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray, str]]:
    rng = np.random.default_rng(7)
    return [
        (
            (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32),
            rng.standard_normal(n_out).astype(np.float32),
            act,
        )
        for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations, strict=True)
    ]


@pytest.mark.parametrize("activations", [["relu", "relu", "linear"], ["tanh", "sigmoid", "linear"]])
def test_one_row_matches_a_batch_of_one_and_a_batch(activations: list[str]) -> None:
    predictor = Predictor(plan=_plan(activations, [128, 64, 32, 16]))
    rows = np.random.default_rng(1).standard_normal((300, 128)).astype(np.float32)

    ones = np.stack([predictor.one(row) for row in rows])
    batch = predictor(rows)

    assert ones.dtype == np.float32 and ones.shape == (300, 16)
    for i in (0, 150, 299):
        assert np.array_equal(ones[i], predictor(rows[i : i + 1])[0])  # the same kernels: the same bits
        assert np.array_equal(ones[i], predictor(rows[i]))  # a 1-D row takes the one-row path
    np.testing.assert_allclose(ones, batch, rtol=1e-5, atol=1e-5)  # a batch may sum in another order


def test_one_row_does_not_change_its_input() -> None:
    predictor = Predictor(plan=_plan(["linear"], [8, 8]))
    row = np.arange(8, dtype=np.float32)
    predictor.one(row)
    assert np.array_equal(row, np.arange(8, dtype=np.float32))
