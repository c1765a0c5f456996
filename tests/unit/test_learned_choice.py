"""Which records the encoder also codes classically next to the learned model (steering effort only)."""

from __future__ import annotations

import numpy as np

from compressor.learned.choice import COMPARE, MEMORY, MIN_SAVING, RUN, SAMPLE, ClassicalTrials


def test_every_record_is_compared_until_enough_are_counted() -> None:
    trials = ClassicalTrials()
    sizes = np.full(100, 50)
    assert np.array_equal(trials.rows(7, sizes), np.arange(100))
    trials.record(7, sizes, sizes + 10)  # classical never smaller, but only 100 records seen
    assert trials.saving(7) == 0.0
    assert np.array_equal(trials.rows(7, sizes), np.arange(100))


def test_the_classical_coder_is_sampled_once_it_stops_paying_and_resumes_when_it_pays() -> None:
    trials = ClassicalTrials()
    sizes = np.full(COMPARE, 100)
    trials.record(3, sizes, sizes + 5)
    picked = [trials.rows(3, np.full(10, 100)) for _ in range(SAMPLE * RUN // 10 * 3)]
    # one record in SAMPLE, across batches, in runs of RUN consecutive records
    assert sum(len(p) for p in picked) == 3 * RUN
    flat = np.concatenate([p + 10 * i for i, p in enumerate(picked)])
    assert np.array_equal(flat[:RUN], np.arange(RUN)) and flat[RUN] == SAMPLE * RUN
    for _ in range(SAMPLE * RUN - 10 * len(picked) % (SAMPLE * RUN)):
        trials.rows(3, np.full(1, 100))
    assert np.array_equal(trials.rows(3, np.full(1, 100)), np.array([0]))  # a new period: sampled again
    with_off_grid = np.array([100, -1, 100, -1])
    assert set(trials.rows(3, with_off_grid).tolist()) >= {1, 3}  # the learned coder could not code them
    # the classical payloads start to win by far more than MIN_SAVING: every record again
    big = np.full(MEMORY, 100)
    trials.record(3, big, (big * (1 - 4 * MIN_SAVING)).astype(np.int64))
    assert trials.saving(3) > MIN_SAVING
    assert np.array_equal(trials.rows(3, np.full(5, 100)), np.arange(5))


def test_bounds_are_measured_apart() -> None:
    trials = ClassicalTrials()
    sizes = np.full(COMPARE, 100)
    trials.record(1, sizes, sizes // 2)
    trials.record(2, sizes, sizes * 2)
    assert trials.saving(1) == 0.5 and trials.saving(2) == 0.0
    assert len(trials.rows(1, np.full(64, 100))) == 64
    assert len(trials.rows(2, np.full(64, 100))) == RUN  # a run of sampled records


def test_the_learned_coder_is_sampled_once_it_stops_paying_and_resumes_when_it_pays() -> None:
    trials = ClassicalTrials()
    assert trials.learned_rows(5, 10) is None  # nothing measured: the learned coder codes every record
    sizes = np.full(COMPARE, 100)
    trials.record(5, sizes, sizes // 2)  # the classical payloads always half the size
    assert trials.learned_saving(5) == 0.0 and trials.saving(5) == 0.5
    picked = [trials.learned_rows(5, 16) for _ in range(SAMPLE)]  # 16 * SAMPLE records
    assert sum(len(p) for p in picked) == 16  # one record in SAMPLE, across batches
    assert sum(len(p) for p in picked[: SAMPLE // 4]) == 16  # in runs
    assert np.array_equal(trials.learned_rows(5, 1), np.array([0]))
    # the learned payloads start to win by far more than MIN_SAVING: the learned coder codes every record
    big = np.full(MEMORY, 100)
    trials.record(5, big, big * 2)
    assert trials.learned_saving(5) > MIN_SAVING
    assert trials.learned_rows(5, 10) is None
    # where the classical coder does not pay either, the learned coder stays the one coding every record
    even = ClassicalTrials()
    even.record(6, sizes, sizes)
    assert even.learned_rows(6, 10) is None and len(even.rows(6, np.full(64, 100))) == RUN
