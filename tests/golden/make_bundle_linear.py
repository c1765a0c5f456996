"""Regenerate ``bundle_linear/`` and ``bundle_linear_vectors.json``: classical envelopes (kinds 1 and 2) of a
model with a fitted linear predictor and a lossless bound, marked wire version 7 (their mode alphabet has the
linear slot, their preset bounds the lossless one).

Run once, by hand, when the golden set must be rebuilt (``python tests/golden/make_bundle_linear.py``); the
test ``tests/unit/test_golden_linear.py`` then checks that this build decodes the stored envelopes to
exactly the stored float32 bits. A change that alters those bits is a wire-format change: a new wire version.

The model is trained (without the learned probability model, so every record is classical) on one series a
seeded generator makes like a server's load: a slowly moving level, noise that reverts to it, stored to 2
decimals. Window 64.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.golden_sets import encoded_vectors, save_golden_bundle, write_vectors  # noqa: E402

#: (name, first test record, count, absolute bound)
CASES = (
    ("lattice, E below the quantum (lossless)", 0, 4, 4e-3),
    ("lattice, the bundle's lossless bound (a preset)", 7, 2, 0.49 * 0.01),
    ("plain grid, E = 0.05", 4, 3, 0.05),
)


def series() -> np.ndarray:
    """(200, 64) float32 records of one channel: a level that moves slowly plus noise that reverts to it."""
    rng = np.random.default_rng(11)
    n = 200 * 64
    level = 40 + 10 * np.sin(np.arange(n) / 900) + np.cumsum(rng.normal(0, 0.05, n))
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.3 * noise[t - 1] + rng.normal(0, 2.0)
    return np.round(level + noise, 2).astype(np.float32).reshape(200, 64)


def main() -> int:
    from compressor.codec import Codec
    from compressor.envelope import CLASSICAL_VERSION
    from compressor.training import train
    from tests.training import without_learned_model

    records = series()
    with without_learned_model():
        bundle, _ = train(records[:160], window=64, channels=1, progress=False)
    if bundle.bounded_stats is None or bundle.bounded_stats.linear_predictor is None:
        raise SystemExit("the training statistics kept no linear predictor")
    bundle = save_golden_bundle(bundle, "bundle_linear")
    test = records[160:]
    vectors = []
    for name, first, count, bound in CASES:
        batch = test[first : first + count]
        vectors += encoded_vectors(name, bound, Codec(bundle, error_bound=bound).encode(batch), batch)
    versions = {bytes.fromhex(v["envelope"])[1] >> 4 for v in vectors}
    if versions != {CLASSICAL_VERSION}:
        raise SystemExit(f"envelopes are marked {sorted(versions)}, not {CLASSICAL_VERSION}")
    write_vectors(
        "bundle_linear",
        bundle.model_id,
        "tests/golden/make_bundle_linear.py series(), records 160-168",
        vectors,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
