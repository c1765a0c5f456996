"""The autoencoder predictor: the integer forward pass is exact (equal to arbitrary-precision integer
arithmetic), records that follow the model choose it, and another process decodes them bit for bit."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from compressor.bounded.autoencoder import AE_PREDICTORS, AutoencoderPredictor
from compressor.bounded.codec import BoundedCodec
from compressor.bounded.fixedpoint import FixedPointDecoder
from compressor.bounded.parameters import BoundedParameters
from compressor.error_bound import ErrorBound
from tests.processes import run_python

REPO = Path(__file__).resolve().parents[2]


def _plan(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, str]]:
    rng = np.random.default_rng(seed)
    sizes = [4, 16, 32, 64]
    plan = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        act = "relu" if i < len(sizes) - 2 else "linear"
        plan.append(
            (
                rng.standard_normal((a, b)).astype(np.float32) / np.sqrt(a),
                rng.standard_normal(b).astype(np.float32) * 0.1,
                act,
            )
        )
    return plan


def _decoder(seed: int = 0) -> FixedPointDecoder:
    low = np.full(4, -3.0, np.float32)
    step = np.full(4, 6.0 / 255, np.float32)
    return FixedPointDecoder(
        _plan(seed), low, step, 256, np.full(64, 10.0, np.float32), np.full(64, 2.0, np.float32)
    )


def test_integer_forward_pass_is_exact() -> None:
    fp = _decoder()
    codes = np.random.default_rng(1).integers(0, 256, size=(7, 4))
    got = fp.normalized(codes)
    # the same computation in Python integers (no rounding anywhere)
    h = [[int(v) for v in row] for row in fp.latent_ints(codes)]
    for w_int, b_int, div, relu in fp.layers:
        w = [[int(v) for v in col] for col in w_int.T]
        b = [int(v) for v in b_int]
        d = int(div)
        h = [
            [
                (sum(x * y for x, y in zip(row, col, strict=True)) + bj) // d
                for col, bj in zip(w, b, strict=True)
            ]
            for row in h
        ]
        if relu:
            h = [[max(v, 0) for v in row] for row in h]
    assert got.tolist() == [[float(v) for v in row] for row in h]


def _ae_codec() -> BoundedCodec:
    fp = _decoder()
    return BoundedCodec(
        BoundedParameters(
            (64, 1),
            np.full(64, 10.0, np.float32),
            {},
            fallback_scale=np.full(64, 2.0, np.float32),
            autoencoder=AutoencoderPredictor(_codes_of, fp, None, 256),
        )
    )


def _codes_of(records: np.ndarray) -> np.ndarray:
    # the test's "encoder": records are made from known codes, find each one's nearest clean record
    clean = _clean_records()
    dist = ((records[:, None, :].astype(np.float64) - clean[None]) ** 2).sum(axis=2)
    return _CODES[dist.argmin(axis=1)]


_CODES = np.random.default_rng(2).integers(0, 256, size=(40, 4))


def _clean_records() -> np.ndarray:
    return _decoder().normalized(_CODES) / float(1 << 12) * 2.0 + 10.0


def _ae_records() -> np.ndarray:
    y = _clean_records()
    noise = np.random.default_rng(3).standard_normal(y.shape) * 0.01
    return (y + noise).astype(np.float32)


@pytest.mark.parametrize("count", [10, 40])  # 40: the autoencoder is probed on a sample first
def test_records_that_follow_the_model_choose_it_and_decode_within_the_bound(count: int) -> None:
    codec = _ae_codec()
    x = _ae_records()[:count]
    bodies, decoded, _ = codec.encode(x, ErrorBound(0.01))
    out, _ = codec.decode(bodies)
    assert out.view(np.uint32).tolist() == decoded.view(np.uint32).tolist()
    assert np.abs(out.astype(np.float64) - x).max() <= 0.01
    first_ae = codec.params.predictors.index(AE_PREDICTORS[0])
    modes = [codec.mode_of(b) >> 1 for b in bodies]
    assert sum(m >= first_ae for m in modes) >= len(modes) // 2


_CHILD = """
import pickle, sys
sys.path.insert(0, {repo!r})
sys.path.insert(0, {tests!r})
import numpy as np
import test_bounded_fixedpoint as t
bodies = pickle.loads(bytes.fromhex(sys.stdin.read()))
out, _ = t._ae_codec().decode(bodies)
sys.stdout.write(out.view(np.uint32).tobytes().hex())
"""


def test_autoencoder_payloads_decode_identically_with_other_thread_counts() -> None:
    codec = _ae_codec()
    bodies, decoded, _ = codec.encode(_ae_records(), ErrorBound(0.001))
    for threads in ("1", "2"):
        source = _CHILD.format(repo=str(REPO), tests=str(Path(__file__).parent))
        out = run_python(source, pickle.dumps(bodies).hex(), threads)
        assert bytes.fromhex(out) == decoded.view(np.uint32).tobytes()


def test_training_records_how_often_the_autoencoder_wins_and_a_loser_starts_sparse(digits) -> None:
    from compressor.bounded.codec import codec_for_bundle
    from compressor.bounded.probe import PATIENCE
    from compressor.training import TrainingConfig, train

    bundle, _ = train(
        digits[:600], window=1, channels=1, shape=(8, 8), config=TrainingConfig(epochs=3), progress=False
    )
    rate = bundle.bounded_stats.autoencoder_win_rate
    assert rate is not None and 0.0 <= rate <= 1.0
    bundle.bounded_stats = replace(bundle.bounded_stats, autoencoder_win_rate=0.0)
    assert codec_for_bundle(bundle).encoder.probe.losses == PATIENCE
    bundle.bounded_stats = replace(bundle.bounded_stats, autoencoder_win_rate=0.5)
    assert codec_for_bundle(bundle).encoder.probe.losses == 0
