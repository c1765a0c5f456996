"""Capacity chosen from the data: latent size, widths, weight decay and epochs."""

from __future__ import annotations

from compressor.capacity import MAX_EPOCHS, MIN_EPOCHS, STEP_BUDGET, choose, smaller


def test_many_records_keep_the_record_size_rule_and_no_decay():
    cap = choose(20_000, 256)
    assert cap.latent_dim == 32 and cap.weight_decay == 0.0
    assert cap.epochs == max(MIN_EPOCHS, STEP_BUDGET // 157) < MAX_EPOCHS
    assert "epochs" in cap.reason


def test_few_large_records_get_a_small_regularised_model():
    cap = choose(43, 896)  # 54 windows of 128 hourly rows x 7 channels, 20% held back
    assert cap.latent_dim == 5
    assert max(cap.hidden) <= 43 and cap.weight_decay >= 1e-4
    assert cap.epochs == MAX_EPOCHS
    assert "latent capped" in cap.reason and "hidden widths capped" in cap.reason


def test_given_values_are_kept():
    cap = choose(43, 896, latent_dim=64, hidden=(300, 100), weight_decay=0.0, epochs=7)
    assert (cap.latent_dim, cap.hidden, cap.weight_decay, cap.epochs) == (64, (300, 100), 0.0, 7)


def test_smaller_halves_and_strengthens():
    cap = choose(400, 140)
    less = smaller(cap, "overfit")
    assert less.latent_dim == cap.latent_dim // 2
    assert all(a <= b for a, b in zip(less.hidden, cap.hidden, strict=True))
    assert less.weight_decay >= max(1e-4, 10 * cap.weight_decay)
    assert "overfit" in less.reason
