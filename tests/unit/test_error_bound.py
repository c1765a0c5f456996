"""``ErrorBound``: one value for the bound, its wire code, the ``--relative`` resolution, and how ``Codec``
takes it and says whether it is bounded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import compressor.error_bound as error_bound_module
from compressor.bounded.grid import bound_code, bound_from_code
from compressor.codec import Codec
from compressor.error_bound import ErrorBound
from compressor.errors import ConfigError


@pytest.mark.parametrize("value", [0.2, 1.0, 1.9, 2.5, 1e-3, 3.3e7])
def test_code_is_the_wire_code_and_never_looser(value: float) -> None:
    bound = ErrorBound(value)
    assert bound.value == value and bound.code == bound_code(value)
    assert bound.coded == bound_from_code(bound.code)
    assert value * (1 - 1 / 256) < bound.coded <= value
    with pytest.raises(dataclasses.FrozenInstanceError):
        bound.value = 2 * value  # type: ignore[misc]


def test_numbers_convert_and_bad_ones_are_config_errors() -> None:
    assert ErrorBound("0.5") == ErrorBound(0.5)  # type: ignore[arg-type]
    assert isinstance(ErrorBound(np.float32(0.5)).value, float)
    for bad in (0, -1, float("nan"), float("inf"), "x", None, 1e-300):
        with pytest.raises(ConfigError):
            ErrorBound(bad)  # type: ignore[arg-type]


def test_of_converts_plain_numbers_once() -> None:
    bound = ErrorBound(0.25)
    assert ErrorBound.of(None) is None
    assert ErrorBound.of(bound) is bound
    assert ErrorBound.of(0.25) == bound


def test_relative_is_a_fraction_of_the_smallest_positive_range(digits_bundle, monkeypatch) -> None:
    ranges = np.array([0.0, 4.0, 2.0, 8.0])
    monkeypatch.setattr(error_bound_module, "value_ranges", lambda bundle: ranges)
    assert ErrorBound.resolve(digits_bundle, 0.01, relative=True) == ErrorBound(0.02)
    assert ErrorBound.resolve(digits_bundle, 0.01) == ErrorBound(0.01)
    ranges = np.zeros(4)  # constant training data: relative to 1
    assert ErrorBound.resolve(digits_bundle, 0.01, relative=True) == ErrorBound(0.01)
    monkeypatch.setattr(error_bound_module, "value_ranges", lambda bundle: None)
    with pytest.raises(ConfigError, match="no training value ranges"):
        ErrorBound.resolve(digits_bundle, 0.01, relative=True)
    assert ErrorBound.resolve(digits_bundle, 0.01) == ErrorBound(0.01)  # absolute needs no ranges


def test_codec_takes_the_bound_and_says_whether_it_is_bounded(digits_bundle, digits: np.ndarray) -> None:
    fixed = Codec(digits_bundle)
    assert not fixed.is_bounded and fixed.error_bound is None
    bound = ErrorBound(0.5)
    typed, plain = Codec(digits_bundle, error_bound=bound), Codec(digits_bundle, error_bound=0.5)
    assert typed.is_bounded and typed.error_bound is bound
    assert plain.is_bounded and plain.error_bound == bound
    assert typed.encode(digits[:20]).payloads == plain.encode(digits[:20]).payloads


def test_lossless_is_just_below_half_the_smallest_quantum(digits_bundle) -> None:
    from types import SimpleNamespace

    assert set(digits_bundle.bounded_stats.quantum) == {1.0}  # pixel values are integers
    assert ErrorBound.lossless(digits_bundle) == ErrorBound(0.49)
    assert ErrorBound.lossless_if_any(digits_bundle) == ErrorBound(0.49)
    mixed = SimpleNamespace(model_id="ab" * 32, bounded_stats=SimpleNamespace(quantum=(0.5, 0.01, 2.0)))
    assert ErrorBound.lossless(mixed) == ErrorBound(0.49 * 0.01)
    no_quantum = SimpleNamespace(model_id="ab" * 32, bounded_stats=SimpleNamespace(quantum=(1.0, None)))
    with pytest.raises(ConfigError, match="no quantum in column 1 .*lossless needs integer-like data"):
        ErrorBound.lossless(no_quantum)
    assert ErrorBound.lossless_if_any(no_quantum) is None
    no_stats = SimpleNamespace(model_id="ab" * 32, bounded_stats=None)
    with pytest.raises(ConfigError, match="no statistics of its data's quantum"):
        ErrorBound.lossless(no_stats)
    assert ErrorBound.lossless_if_any(no_stats) is None
