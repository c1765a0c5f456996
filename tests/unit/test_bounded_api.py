"""The codec contract for error-bounded payloads: ``Codec(bundle, error_bound=E)`` encodes kind 1 (or 2 on
the data's lattice), any ``Codec(bundle)`` decodes every kind, the bound is read back from the payload, and it holds."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.bounded.verify import bound_violations, check_and_count, payload_bound
from compressor.codec import Codec
from compressor.envelope import LEARNED_KINDS, Kind, unpack
from compressor.error_bound import ErrorBound
from compressor.errors import ConfigError
from compressor.validation import split_valid


def test_one_consumer_decodes_both_kinds(digits_bundle, digits: np.ndarray) -> None:
    e = ErrorBound.resolve(digits_bundle, 0.01, relative=True).value
    # per column of the 8x8 images, the smallest positive range of the training data
    spans = np.ptp(digits.reshape(-1, 8, 8), axis=(0, 1))
    assert e == pytest.approx(0.01 * spans[spans > 0].min())
    bounded = Codec(digits_bundle, error_bound=e).encode(digits[:50], [None] * 49 + [40])
    fixed = Codec(digits_bundle).encode(digits[:50])
    envs = [unpack(p) for p in bounded.payloads + fixed.payloads]
    # the digits are integers 0..16 and E = 0.16 is below their quantum: every record goes on the lattice
    # (kind 2, or the learned kind where the learned model codes it smaller)
    assert {e.kind for e in envs[:50]} <= {Kind.LATTICE, *LEARNED_KINDS}
    assert {e.kind for e in envs[50:]} == {Kind.FIXED_RATE}
    assert np.array_equal(bounded.decoded[:49], digits[:49])
    consumer = Codec(digits_bundle)  # knows no bound
    out = consumer.decode(envs)
    assert out[49].shape == (40,)
    assert np.array_equal(np.stack(out[:49]), bounded.decoded[:49])
    assert np.array_equal(np.stack(out[50:]), fixed.decoded)
    assert bound_violations(digits[:49], np.stack(out[:49]), payload_bound(envs[0], consumer)) == 0
    assert payload_bound(envs[0], consumer) <= e and payload_bound(envs[50], consumer) is None
    # a bound the bundle predicts (relative to its training range) costs a few bits, any other one 16 more
    other = Codec(digits_bundle, error_bound=e * 1.01).encode(digits[:50])
    assert sum(map(len, other.payloads)) > sum(map(len, bounded.payloads))
    assert payload_bound(unpack(other.payloads[0]), consumer) == pytest.approx(e * 1.01, rel=1 / 256)
    # the bounded mode beats the fixed-rate size on these small images while bounding every pixel
    assert np.mean([len(p) for p in bounded.payloads]) < 4 * 64


def test_non_finite_values_are_legal_with_a_bound(digits_bundle, digits: np.ndarray) -> None:
    batch = digits[:4].copy()
    batch[1, 3] = np.nan
    batch[2, 0] = -np.inf
    valid, kept, rejected = split_valid(batch, 64, allow_non_finite=True)
    assert not rejected
    codec = Codec(digits_bundle, error_bound=0.5)
    out = np.stack(codec.decode([unpack(p) for p in codec.encode(valid).payloads]))
    assert np.isnan(out[1, 3]) and out[2, 0] == -np.inf
    assert bound_violations(batch, out, 0.5) == 0


def test_relative_and_bad_bounds(digits_bundle) -> None:
    assert ErrorBound.resolve(digits_bundle, 0.25).value == 0.25
    for bad in (0, -1, float("nan"), "x"):
        with pytest.raises(ConfigError):
            ErrorBound.resolve(digits_bundle, bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        Codec(digits_bundle, error_bound=1e-300)


def test_check_and_count_feeds_a_counter() -> None:
    class Counter:
        value = 0

        def inc(self, n: int) -> None:
            self.value += n

    c = Counter()
    x = np.array([0.0, 1.0, np.nan, 5.0])
    y = np.array([0.05, 1.2, np.nan, np.nan])
    assert check_and_count(x, y, 0.1, c) == 2 and c.value == 2


_CONSUMER = """
import sys
sys.path.insert(0, {repo!r})
import numpy as np
from compressor.bundle import load_bundle
from compressor.codec import Codec
from compressor.envelope import unpack
codec = Codec(load_bundle({bundle!r}))
payloads = [bytes.fromhex(h) for h in sys.stdin.read().split()]
out = np.stack(codec.decode([unpack(p) for p in payloads]))
sys.stdout.write(out.view(np.uint32).tobytes().hex())
"""


def test_a_consumer_process_with_one_thread_decodes_the_same_bits(
    digits_bundle_dir, digits: np.ndarray
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from compressor.bundle import load_bundle

    bundle = load_bundle(digits_bundle_dir)
    batch = digits[:200].copy()
    batch[5, 7] = np.nan
    bound = ErrorBound.resolve(bundle, 1e-3, relative=True)
    encoded = Codec(bundle, error_bound=bound).encode(batch)
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TF_NUM_INTRAOP_THREADS="1",
        TF_NUM_INTEROP_THREADS="1",
    )
    repo = str(Path(__file__).resolve().parents[2])
    child = subprocess.run(
        [sys.executable, "-c", _CONSUMER.format(repo=repo, bundle=str(digits_bundle_dir))],
        input=" ".join(p.hex() for p in encoded.payloads),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    decoded = (
        np.frombuffer(bytes.fromhex(child.stdout), dtype=np.uint32).view(np.float32).reshape(batch.shape)
    )
    assert decoded.view(np.uint32).tolist() == encoded.decoded.view(np.uint32).tolist()
    assert bound_violations(batch, decoded, bound.value) == 0
