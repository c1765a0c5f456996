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

from make_bundle_fine import series  # noqa: E402

from tests.golden_sets import encoded_vectors, write_vectors  # noqa: E402

#: the test records (of ``series()[220:]``) the vectors code: first, count
RECORDS = (0, 6)
BOUND = 0.05


def main() -> int:
    from compressor.bundle import load_bundle
    from compressor.codec import Codec
    from compressor.envelope import Kind

    records = series()
    bundle = load_bundle(HERE / "bundle_counts")
    first, count = RECORDS
    batch = records[220 + first : 220 + first + count]
    encoded = Codec(bundle, error_bound=BOUND).encode(batch)
    vectors = encoded_vectors("bound 0.05, learned counts where coarser", BOUND, encoded, batch)
    kinds = {bytes.fromhex(v["envelope"])[1] & 0x0F for v in vectors}
    if Kind.LEARNED3_COUNTED not in kinds:
        raise SystemExit(f"no record was coded with counts where coarser (kind 11): kinds {sorted(kinds)}")
    source = f"tests/golden/make_bundle_fine.py series(), records {220 + first}-{220 + first + count - 1}"
    write_vectors("bundle_counted", bundle.model_id, source, vectors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
