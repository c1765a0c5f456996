"""Regenerate ``bundle_v5/`` and ``bundle_v5_vectors.json``: envelopes of kind 8 (a version-3 learned model,
wire version 5: version 2's model, its rANS streams started at state 1 and their final state in 3 or 4
bytes), from the same series, cases and steps as ``make_bundle_v3.py``.

``python tests/golden/make_bundle_v5.py lossless`` writes ``bundle_v5_lossless_vectors.json`` instead, from
the stored ``bundle_v5/`` (unchanged): envelopes of kind 9 (wire version 6), the same model's records at its
lossless bound on the data's lattice, whose payload has no header.

Run once, by hand, when the golden set must be rebuilt (``python tests/golden/make_bundle_v5.py``); the test
``tests/unit/test_golden_learned.py`` then checks that this build decodes the stored envelopes to exactly
the stored float32 bits. A change that alters those bits is a wire-format change: a new wire version.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_bundle_v3 import build, series  # noqa: E402

#: the test records (of ``series()[240:]``) the kind-9 vectors code: first, count
LOSSLESS_RECORDS = (12, 6)


def lossless() -> int:
    """Write the kind-9 vectors of the stored ``bundle_v5``: records at its lossless bound."""
    from compressor.bundle import load_bundle
    from compressor.codec import Codec
    from compressor.error_bound import ErrorBound
    from tests.golden_sets import encoded_vectors, write_vectors

    bundle = load_bundle(HERE / "bundle_v5")
    bound = ErrorBound.lossless(bundle)
    first, count = LOSSLESS_RECORDS
    encoded = Codec(bundle, error_bound=bound).encode(series()[240 + first : 240 + first + count])
    vectors = encoded_vectors("lossless bound, learned", bound.value, encoded)
    source = f"tests/golden/make_bundle_v5.py lossless: series(), records {240 + first}-{240 + first + count}"
    write_vectors("bundle_v5_lossless", bundle.model_id, source, vectors)
    return 0


if __name__ == "__main__":
    raise SystemExit(
        lossless() if sys.argv[1:] == ["lossless"] else build("bundle_v5", 8, "make_bundle_v5.py")
    )
