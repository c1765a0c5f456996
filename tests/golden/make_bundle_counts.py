"""Regenerate ``bundle_counts/`` and ``bundle_counts_vectors.json``: envelopes of kind 10 (wire version 7), a
version-3 learned model coding the counts of the fine lattice at the bundle's lossless bound.

Run once, by hand, when the golden set must be rebuilt (``python tests/golden/make_bundle_counts.py``); the
test ``tests/unit/test_golden_counts.py`` then checks that this build decodes the stored envelopes to exactly
the stored float32 bits and writes exactly these envelopes. A change that alters those bits is a wire-format
change: a new wire version.

The model is trained, learned model included, on the converted and rounded sensor counts of
``make_bundle_fine.py`` (window 32), so the statistics find each column's fine lattice.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from make_bundle_fine import series, write_learned_counts  # noqa: E402

from tests.golden_sets import save_golden_bundle  # noqa: E402


def main() -> int:
    from compressor.envelope import Kind
    from compressor.error_bound import ErrorBound
    from compressor.training import train

    bundle, _ = train(series()[:220], window=32, channels=3, progress=False)
    bundle = save_golden_bundle(bundle, "bundle_counts")
    bound = ErrorBound.lossless(bundle).value
    write_learned_counts(
        "bundle_counts",
        bundle,
        bound,
        "lossless bound, learned counts",
        Kind.LEARNED3_COUNTS,
        "learned counts",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
