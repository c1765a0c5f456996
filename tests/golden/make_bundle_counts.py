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

from make_bundle_fine import series  # noqa: E402

from tests.golden_sets import encoded_vectors, save_golden_bundle, write_vectors  # noqa: E402

#: the test records (of ``series()[220:]``) the vectors code: first, count
RECORDS = (0, 6)


def main() -> int:
    from compressor.codec import Codec
    from compressor.envelope import Kind
    from compressor.error_bound import ErrorBound
    from compressor.training import train

    records = series()
    bundle, _ = train(records[:220], window=32, channels=3, progress=False)
    bundle = save_golden_bundle(bundle, "bundle_counts")
    bound = ErrorBound.lossless(bundle)
    first, count = RECORDS
    batch = records[220 + first : 220 + first + count]
    vectors = encoded_vectors(
        "lossless bound, learned counts", bound.value, Codec(bundle, error_bound=bound).encode(batch), batch
    )
    kinds = {bytes.fromhex(v["envelope"])[1] & 0x0F for v in vectors}
    if Kind.LEARNED3_COUNTS not in kinds:
        raise SystemExit(f"no record was coded as learned counts (kind 10): kinds {sorted(kinds)}")
    source = f"tests/golden/make_bundle_fine.py series(), records {220 + first}-{220 + first + count - 1}"
    write_vectors("bundle_counts", bundle.model_id, source, vectors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
