"""A bound of a few quanta on counts a sensor converted and rounded is coded exactly where that is smaller:
measured at both bounds over a trial, the records then name the lossless bound and decode exactly."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.bounded.exact_choice import RECHECK, TRIAL, ExactChoice
from compressor.codec import Codec
from compressor.envelope import unpack
from compressor.error_bound import ErrorBound
from compressor.training import TrainingConfig, train
from tests.training import without_learned_model

WINDOW = 32


def _readings(n: int, seed: int) -> np.ndarray:
    """Records (n, WINDOW * 2) float32: random walks of counts, converted at 0.066931 and 0.035712 units
    per count and stored to 3 decimals (a quantum of 0.001 that the values use one position in 67 or 36
    of)."""
    rng = np.random.default_rng(seed)
    k = rng.integers(-3, 4, size=(n, WINDOW, 2)).cumsum(axis=1) + rng.integers(-200, 200, size=(n, 1, 2))
    x = np.stack([np.round(k[..., 0] * 0.066931, 3), np.round(k[..., 1] * 0.035712, 3)], axis=-1)
    return x.astype(np.float32).reshape(n, -1)


@pytest.fixture(scope="module")
def sensor_bundle():  # noqa: ANN201
    with without_learned_model():  # the choice is the codec's, whichever coder codes the records
        bundle, _ = train(
            _readings(240, 1), window=WINDOW, channels=2, config=TrainingConfig(epochs=1), progress=False
        )
    return bundle


def _named_bounds(codec: Codec, payloads: list[bytes]) -> tuple[list[np.ndarray], list[float | None]]:
    return codec.decode_with_bounds([unpack(p) for p in payloads])


def test_a_bound_of_a_few_quanta_is_coded_exactly_in_fewer_bytes(sensor_bundle) -> None:
    test = _readings(3 * TRIAL, 2)
    lossless = ErrorBound.lossless(sensor_bundle)
    asked = ErrorBound(0.003)  # 3 quanta: a step of 0.007, far finer than one count (0.036 and 0.067)
    producer = Codec(sensor_bundle, error_bound=asked)
    payloads = producer.encode_payloads(test[:TRIAL]) + producer.encode_payloads(test[TRIAL:])
    plain = Codec(sensor_bundle, error_bound=asked, exact_when_cheaper=False).encode_payloads(test)
    assert sum(map(len, payloads)) < 0.9 * sum(map(len, plain))
    values, bounds = _named_bounds(Codec(sensor_bundle), payloads)
    assert set(bounds) == {lossless.coded} and lossless.coded <= asked.value
    assert np.array_equal(np.stack(values), test)  # exact: within any bound the lossless one is below
    one = Codec(sensor_bundle, error_bound=asked)  # a per-record serializer: the same choice after the trial
    assert [one.encode_one(r) for r in test][TRIAL:] == payloads[TRIAL:]


def test_a_bound_coarser_than_the_counts_is_coded_as_asked(sensor_bundle) -> None:
    test = _readings(TRIAL, 3)
    asked = ErrorBound(0.08)  # a step of 0.161: coarser than one count in both columns
    payloads = Codec(sensor_bundle, error_bound=asked).encode_payloads(test)
    assert payloads == Codec(sensor_bundle, error_bound=asked, exact_when_cheaper=False).encode_payloads(test)
    values, bounds = _named_bounds(Codec(sensor_bundle), payloads)
    assert set(bounds) == {asked.coded}
    assert np.abs(np.stack(values).astype(np.float64) - test).max() <= asked.value


def test_the_choice_keeps_the_smaller_batch_and_follows_the_trial_total() -> None:
    choice = ExactChoice("asked", "exact")
    small, large = ([b"x" * 10] * (TRIAL // 2),), ([b"x" * 11] * (TRIAL // 2),)
    assert choice.on_trial and choice.bound == "asked"
    assert choice.keep(small, large) is small  # the asked one smaller in this batch
    assert choice.on_trial
    big = ([b"x" * 40] * (TRIAL // 2),)
    assert choice.keep(big, small) is small  # the exact one smaller, and in total over the trial
    assert not choice.on_trial and choice.exact and choice.bound == "exact"
    choice.coded(RECHECK - 1)
    assert not choice.on_trial
    choice.coded(1)  # a stream changes: after RECHECK records the next batch is a trial again
    assert choice.on_trial
    assert choice.keep(small, small) is small and choice.on_trial  # a tie keeps the asked bound
    choice.keep(small, small)
    assert choice.exact is False and choice.bound == "asked"
