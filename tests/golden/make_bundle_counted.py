"""Regenerate ``bundle_counted_vectors.json``: envelopes of kind 11 (wire version 9), the version-3 learned
model of ``bundle_counts/`` coding counts in the columns whose fine lattice is coarser than the record's grid
and grid integers in the others.

Run once, by hand, when the golden set must be rebuilt (``python tests/golden/make_bundle_counted.py``); the
test ``tests/unit/test_golden_counts.py`` then checks that this build decodes the stored envelopes to exactly
the stored float32 bits and writes exactly these envelopes. A change that alters those bits is a wire-format
change: a new wire version.

The bound, 0.05, puts a lattice step of 0.101 on the two 3-decimal columns, coarser than one of their counts
(0.0669 and 0.0357): they go as grid integers. The third column (whole units, 10.1 per count) is on a step
of 1: it goes as counts.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from make_bundle_fine import write_learned_counts  # noqa: E402

BOUND = 0.05


def main() -> int:
    from compressor.bundle import load_bundle
    from compressor.envelope import Kind

    bundle = load_bundle(HERE / "bundle_counts")
    label = "bound 0.05, learned counts where coarser"
    write_learned_counts(
        "bundle_counted", bundle, BOUND, label, Kind.LEARNED3_COUNTED, "counts where coarser"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
