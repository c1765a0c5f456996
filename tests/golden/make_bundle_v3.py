"""Regenerate ``bundle_v3/`` and ``bundle_v3_vectors.json``: envelopes of kind 3 (a version-1 learned model).

Run once, by hand, when the golden set must be rebuilt (``python tests/golden/make_bundle_v3.py``); the test
``tests/unit/test_golden_learned.py`` then checks that this build decodes the stored envelopes to exactly
the stored float32 bits. A change that alters those bits is a wire-format change: a new wire version.
Builds that train version-2 models (kind 6, ``make_bundle_v4.py``) cannot remake this set and refuse to:
the stored one is what the build that introduced kind 3 wrote, and every later build must decode it.

The model is trained at defaults on two correlated integer series made by a seeded generator (so the
training statistics find a quantum of 1), window 32.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.golden_sets import encoded_vectors, write_vectors  # noqa: E402

#: (name, first test record, count, bound, relative)
CASES = (
    ("lattice, E below the quantum (lossless)", 0, 3, 0.4, False),
    ("lattice, relative preset bound 1e-2", 3, 3, 1e-2, True),
    ("plain grid, E = 1.9 (lattice step 3 finer than 2E)", 6, 3, 1.9, False),
    ("lattice, E = 30 (coarse)", 9, 2, 30.0, False),
)


def series() -> np.ndarray:
    """(320, 64) float32 records: two integer series, the second partly a copy of the first."""
    rng = np.random.default_rng(3)
    t = np.arange(320 * 32)
    a = np.rint(300 * np.sin(t / 9) + 40 * np.sin(t / 2.3) + rng.normal(0, 2, t.size))
    b = np.rint(0.6 * a + 80 * np.cos(t / 13) + rng.normal(0, 2, t.size))
    return np.stack([a, b], axis=1).astype(np.float32).reshape(320, 64)


def build(name: str, kind: int, script: str) -> int:
    """Train on ``series()`` at defaults and write ``golden/<name>/`` and its vectors, where this build
    writes learned records as envelope ``kind``."""
    from compressor.bundle import load_bundle, save_bundle
    from compressor.codec import Codec
    from compressor.error_bound import ErrorBound
    from compressor.learned.bundle import learned_model_of
    from compressor.learned.records import LearnedRecords
    from compressor.training import train

    records = series()
    bundle, _ = train(records[:240], window=32, channels=2, progress=False)
    if bundle.learned is None or bundle.learned.model is None:
        raise SystemExit(f"the learned model was not kept: {bundle.learned}")
    written = LearnedRecords(learned_model_of(bundle), Codec(bundle).bounded_coder).kind
    if written != kind:
        raise SystemExit(f"this build writes learned records as kind {written}, {name} holds kind {kind}")
    out = HERE / name
    if out.exists():
        shutil.rmtree(out)
    save_bundle(bundle, out)
    bundle = load_bundle(out)
    test = records[240:]
    vectors = []
    for case, first, count, bound, relative in CASES:
        e = ErrorBound.resolve(bundle, bound, relative=relative).value
        vectors += encoded_vectors(case, e, Codec(bundle, error_bound=e).encode(test[first : first + count]))
    write_vectors(name, bundle.model_id, f"tests/golden/{script} series(), records 240-250", vectors)
    return 0


def main() -> int:
    return build("bundle_v3", 3, "make_bundle_v3.py")


if __name__ == "__main__":
    raise SystemExit(main())
