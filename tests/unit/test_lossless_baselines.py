"""Lossless anchors (libaec, FLAC frames, pcodec): bit-exact round trips, integers found, headers not sent."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.baselines import available_baselines, missing_baselines
from compressor.lossless_baselines import FLOAT_TAG, as_decimal_integers

NAMES = ["libaec", "flac", "pcodec"]


def _baseline(name: str):  # noqa: ANN202
    found = available_baselines([name])
    if name not in found:
        pytest.skip(missing_baselines([name])[name])
    return found[name]


def _ecg_like(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    walk = np.rint(rng.standard_normal((rows, cols)).cumsum(axis=0) * 4 + 1000)
    return walk.astype(np.float32)


def test_decimal_integers_are_found_bit_for_bit() -> None:
    x = np.array([1.5, -2.25, 3.125, 0.0], np.float32)
    n, p = as_decimal_integers(x)
    assert p == 3 and n.tolist() == [1500, -2250, 3125, 0]
    assert as_decimal_integers(np.array([1.0, 2.0], np.float32))[1] == 0
    assert as_decimal_integers(np.array([np.pi], np.float32)) is None  # no short decimal
    assert as_decimal_integers(np.array([1.0, np.nan], np.float32)) is None
    assert as_decimal_integers(np.array([3e9], np.float32)) is None  # beyond 31 bits


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(128, 2), (128,), (28, 28), (64, 9)])
def test_integer_records_round_trip_bit_exact_and_compress(name: str, shape: tuple[int, ...]) -> None:
    codec = _baseline(name)
    rows, cols = shape[0], int(np.prod(shape[1:]))
    for seed in range(3):
        rec = _ecg_like(rows, cols, seed).reshape(-1)
        blob = codec.encode(rec, shape, 0.0)
        out = codec.decode(blob, shape, 0.0).reshape(-1)
        assert np.array_equal(out.view(np.uint32), rec.view(np.uint32)), (name, shape)
        assert blob[0] != FLOAT_TAG
        assert len(blob) < rec.nbytes / 2.5, (name, shape, len(blob))  # ~5 bits of a 32-bit float


@pytest.mark.parametrize("name", NAMES)
def test_decimal_and_float_records_round_trip(name: str) -> None:
    codec = _baseline(name)
    decimal = (_ecg_like(128, 2) / 100).astype(np.float32).reshape(-1)  # two decimals
    floats = np.random.default_rng(1).standard_normal(256).astype(np.float32)
    special = floats.copy()
    special[[3, 9]] = [np.nan, np.inf]
    for rec in (decimal, floats, special):
        blob = codec.encode(rec, (128, 2), 0.0)
        out = codec.decode(blob, (128, 2), 0.0).reshape(-1)
        assert np.array_equal(out.view(np.uint32), rec.view(np.uint32)), name
    assert codec.encode(decimal, (128, 2), 0.0)[0] == 2  # coded as integers with p = 2


def test_flac_sends_frames_only() -> None:
    codec = _baseline("flac")
    rec = _ecg_like(128, 2).reshape(-1)
    blob = codec.encode(rec, (128, 2), 0.0)
    assert b"fLaC" not in blob
    assert blob[1] == 0xFF and blob[2] & 0xFE == 0xF8  # a frame's sync code follows the tag byte
