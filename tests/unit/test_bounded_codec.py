"""The error-bounded codec: the bound holds on every value, integer round trips are exact, decoding is
bit-identical in another process with other thread counts, and corrupt payloads raise EnvelopeError."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from compressor.bounded import grid, predictors
from compressor.bounded.codec import BoundedCodec
from compressor.bounded.parameters import BoundedParameters
from compressor.bounded.stats import fit_stats
from compressor.bounded.verify import bound_violations
from compressor.error_bound import ErrorBound
from compressor.errors import ConfigError, EnvelopeError
from tests.processes import run_python

DATA_DIR = Path(
    os.environ.get("LATENTWIRE_DATA_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)
REPO = Path(__file__).resolve().parents[2]


def _data(rel: str) -> Path:
    path = DATA_DIR / rel
    if not path.is_file():
        pytest.skip(f"shared data file {rel} not found under {DATA_DIR} (set LATENTWIRE_DATA_DIR)")
    return path


def _codec(layout: tuple[int, int], train: np.ndarray | None = None) -> BoundedCodec:
    d = layout[0] * layout[1]
    if train is None:
        return BoundedCodec(
            BoundedParameters(layout, np.zeros(d, np.float32), {}, fallback_scale=np.ones(d, np.float32))
        )
    stats = fit_stats(train, layout)
    offset = np.tile(
        np.asarray(train, np.float64).reshape(-1, layout[0], layout[1]).mean(axis=(0, 1)), layout[0]
    )
    return BoundedCodec(BoundedParameters(layout, offset.astype(np.float32), stats))


def _roundtrip(codec: BoundedCodec, x: np.ndarray, e: float) -> tuple[np.ndarray, list[bytes]]:
    bodies, decoded, _ = codec.encode(x, ErrorBound(e))
    out, bounds = codec.decode(bodies)
    assert out.view(np.uint32).tolist() == decoded.view(np.uint32).tolist(), "consumer differs from producer"
    assert bound_violations(x, out, bounds[:, None]) == 0
    assert np.all(bounds <= e)
    return out, bodies


# ------------------------------------------------------------------------------------------- grid


@pytest.mark.parametrize("e", [1e-30, 1e-7, 0.001, 0.5, 1.0, 3.0, 1e6, 1e30, 3e38])
def test_bound_code_never_loosens_the_bound(e: float) -> None:
    code = grid.bound_code(e)
    assert 0 <= code <= 0xFFFF
    assert grid.bound_from_code(code) <= e
    assert grid.bound_from_code(code) >= e * (1 - 1 / 256) or e > 1e38


@pytest.mark.parametrize("e", [0.0, -1.0, float("nan"), float("inf"), 1e-45])
def test_bound_code_rejects_unusable_bounds(e: float) -> None:
    with pytest.raises(ConfigError):
        grid.bound_code(e)


def test_quantize_marks_what_the_grid_cannot_hold() -> None:
    x = np.array([0.0, 1.0, np.nan, np.inf, -np.inf, 3e38, 1e-3, 16777217.0, -2.5], np.float32)
    q, raw = grid.quantize(x, 1e-4)
    back = grid.rebuild(q, 2e-4)
    ok = ~raw
    assert np.all(np.abs(back[ok].astype(np.float64) - x[ok]) <= 1e-4)
    assert raw[2] and raw[3] and raw[4] and raw[5]


# ------------------------------------------------------------------------------------------- predictors


def test_predictors_are_exact_inverses() -> None:
    rng = np.random.default_rng(0)
    q = rng.integers(-(1 << 40), 1 << 40, size=(6, 9, 4))
    center = rng.integers(-1000, 1000, size=(9, 4))
    for name in predictors.PREDICTORS:
        r = predictors.forward(name, q, center)
        assert np.array_equal(predictors.inverse(name, r, center), q), name


# ------------------------------------------------------------------------------------------- codec


@pytest.mark.parametrize("e", [1e-6, 1e-2, 0.3, 1e3, 1e30])
def test_bound_holds_on_adversarial_records(e: float) -> None:
    rng = np.random.default_rng(1)
    codec = _codec((32, 2))
    x = rng.standard_normal((12, 64)).astype(np.float32) * 10
    x[0] = 0.0  # constant
    x[1] = 7.25
    x[2, 3] = np.nan
    x[3, 5] = np.inf
    x[3, 6] = -np.inf
    x[4] = 3e38  # far out of range
    x[5, ::2] = -3e38
    x[6] = np.float32(1e-38)  # subnormal-ish
    x[7] = rng.standard_normal(64).astype(np.float32) * 1e7  # huge jumps: escapes
    x[8] = np.nan
    out, _ = _roundtrip(codec, x, e)
    assert np.isnan(out[2, 3]) and np.isnan(out[8]).all()
    assert out[3, 5] == np.inf and out[3, 6] == -np.inf


def test_nan_payload_bits_survive() -> None:
    codec = _codec((16, 1))
    x = np.zeros((1, 16), np.float32)
    x.view(np.uint32)[0, 3] = 0x7FC01234  # a NaN with a payload
    out, _ = _roundtrip(codec, x, 0.1)
    assert out.view(np.uint32)[0, 3] == 0x7FC01234


def test_images_use_a_two_dimensional_layout() -> None:
    assert predictors.record_layout(784, 1, 784, (28, 28)) == (28, 28)
    assert predictors.record_layout(256, 128, 2, (128, 2)) == (128, 2)
    assert predictors.record_layout(50, 1, 50, (50,)) == (50, 1)
    rng = np.random.default_rng(2)
    img = np.clip(rng.standard_normal((5, 28, 28)).cumsum(axis=1).cumsum(axis=2) * 10, 0, 255)
    _roundtrip(_codec((28, 28)), img.reshape(5, -1).astype(np.float32), 1.0)


def _nab_slice(rows: int = 4096) -> np.ndarray:
    from compressor.data import load_records

    rs = load_records(_data("nab/data/realKnownCause/machine_temperature_system_failure.csv"), window=128)
    return rs.records[: rows // 128]


@pytest.mark.parametrize("rel", [1e-2, 1e-3])
def test_bound_holds_on_real_data_and_beats_previous_value_coding(rel: float) -> None:
    records = _nab_slice(8192)
    train, test = records[:32], records[32:]
    e = rel * float(train.max() - train.min())
    codec = _codec((128, 1), train)
    _, bodies = _roundtrip(codec, test, e)
    ratio = test.nbytes / sum(len(b) + 8 for b in bodies)
    assert ratio > 4


def test_multichannel_real_data() -> None:
    from compressor.data import load_records

    rs = load_records(_data("daphnet/S06R02E0.csv"), window=64, max_records=40)
    layout = (64, rs.channels)
    codec = _codec(layout, rs.records[:20])
    _roundtrip(codec, rs.records[20:], 5.0)


def test_corrupt_payloads_raise_envelope_errors() -> None:
    records = _synthetic()
    codec = _codec((64, 1))
    bodies, _, _ = codec.encode(records, ErrorBound(0.01))
    body = bodies[0]
    for payload in [b"", body[:3], body[: len(body) // 2], bytes(64), b"\xff" * 40]:
        with pytest.raises(EnvelopeError):
            codec.decode([payload])


def test_random_corruption_never_raises_anything_but_envelope_errors() -> None:
    rng = np.random.default_rng(5)
    codec = _codec((64, 1))
    bodies, _, _ = codec.encode(_synthetic(), ErrorBound(0.01))
    caught = 0
    for trial in range(300):
        body = bytearray(bodies[trial % len(bodies)])
        how = trial % 3
        if how == 0:
            body[rng.integers(len(body))] ^= 1 << int(rng.integers(8))
        elif how == 1:
            body = body[: rng.integers(len(body))]
        else:
            body = bytearray(rng.integers(0, 256, rng.integers(1, 80), dtype=np.uint8).tobytes())
        try:
            codec.decode([bytes(body)])
        except EnvelopeError:
            caught += 1
    assert caught > 100


def _synthetic() -> np.ndarray:
    rng = np.random.default_rng(3)
    return (np.sin(np.arange(64) / 5)[None, :] * 3 + rng.standard_normal((8, 64)) * 0.2).astype(np.float32)


_CHILD = """
import sys, numpy as np
sys.path.insert(0, {repo!r})
from compressor.bounded.codec import BoundedCodec
from compressor.bounded.parameters import BoundedParameters
codec = BoundedCodec(BoundedParameters((64, 2), np.linspace(-1, 1, 128).astype(np.float32), {{}},
                     fallback_scale=np.ones(128, np.float32)))
bodies = [bytes.fromhex(h) for h in sys.stdin.read().split()]
out, _ = codec.decode(bodies)
sys.stdout.write(out.view(np.uint32).tobytes().hex())
"""


@pytest.mark.parametrize("threads", ["1", "2"])
def test_decode_in_another_process_with_other_thread_counts_is_bit_identical(threads: str) -> None:
    rng = np.random.default_rng(4)
    codec = BoundedCodec(
        BoundedParameters(
            (64, 2), np.linspace(-1, 1, 128).astype(np.float32), {}, fallback_scale=np.ones(128, np.float32)
        )
    )
    x = (rng.standard_normal((20, 128)).cumsum(axis=1) * 0.37).astype(np.float32)
    x[3, 17] = np.nan
    bodies, decoded, _ = codec.encode(x, ErrorBound(1e-3))
    out = run_python(_CHILD.format(repo=str(REPO)), " ".join(b.hex() for b in bodies), threads)
    assert bytes.fromhex(out) == decoded.view(np.uint32).tobytes()


@pytest.mark.parametrize("blocks", [1, 2, 4, 32])
def test_class_choice_is_the_cheapest_path_it_reports(blocks: int) -> None:
    """The Viterbi search returns classes whose cost (per-block costs plus switching) is the bits it
    reports, never steps by more than 3 classes, and is no worse than keeping any single class."""
    from compressor.bounded import context
    from compressor.bounded.tables import class_cost_coefficients

    rng = np.random.default_rng(blocks)
    scale = rng.uniform(0.1, 80, size=(40, 2, 1))
    r = np.rint(rng.laplace(scale=scale, size=(40, 2, blocks * context.BLOCK))).astype(np.int64)
    r[:, :, : context.BLOCK] *= 20  # a loud first block, so switching pays
    sums, lengths = context.block_sums(r)
    classes, bits = context.choose_classes(sums, lengths)
    a, b, _ = class_cost_coefficients()
    cost = lengths[None, None, :, None] * a + sums[..., None] * b
    steps = np.abs(np.diff(classes, axis=2))
    path = np.take_along_axis(cost, classes[..., None], axis=3)[..., 0].sum(axis=2) + 1.6 * steps.sum(axis=2)
    assert np.allclose(path.sum(axis=1), bits)
    assert steps.max(initial=0) <= 3
    assert np.all(bits <= cost.sum(axis=2).min(axis=2).sum(axis=1) + 1e-9)
