"""Baseline codecs: each round-trips one record within its bound (zstd exactly)."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.baselines import BASELINES, available_baselines, missing_baselines


@pytest.fixture(scope="module")
def records() -> np.ndarray:
    rng = np.random.default_rng(0)
    walk = rng.standard_normal((6, 128, 2)).cumsum(axis=1) * 3 + 100
    return walk.astype(np.float32)


@pytest.mark.parametrize("name", list(BASELINES))
@pytest.mark.parametrize("bound", [0.01, 1.0])
def test_round_trip_within_the_bound(name: str, bound: float, records: np.ndarray) -> None:
    baselines = available_baselines([name])
    if name not in baselines:
        pytest.skip(missing_baselines([name])[name])
    codec = baselines[name]
    for shape in [(128, 2), (256,)]:
        for rec in records:
            blob = codec.encode(rec.reshape(-1), shape, bound)
            out = codec.decode(blob, shape, bound).reshape(-1)
            err = np.abs(out.astype(np.float64) - rec.reshape(-1))
            assert err.max() <= (0 if codec.lossless else bound), (name, shape)
            assert len(blob) < rec.nbytes * 1.1


def test_lorenzo_ans_sends_unmodelled_records_raw() -> None:
    codec = available_baselines(["lorenzo-ans"])["lorenzo-ans"]
    rec = np.array([0.0, np.nan, 1e38, -1.0], np.float32)
    out = codec.decode(codec.encode(rec, (4,), 0.1), (4,), 0.1)
    assert np.array_equal(out, rec, equal_nan=True)


def test_missing_packages_are_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import compressor.baselines as b

    def broken():  # noqa: ANN202
        raise ImportError("no module", name="zfpy")

    monkeypatch.setitem(b.BASELINES, "zfp", broken)
    assert "zfp" not in available_baselines()
    assert "zfpy" in missing_baselines()["zfp"]
