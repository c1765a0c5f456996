"""Regenerate ``bundle_v5/`` and ``bundle_v5_vectors.json``: envelopes of kind 8 (a version-3 learned model,
wire version 5: version 2's model, its rANS streams started at state 1 and their final state in 3 or 4
bytes), from the same series, cases and steps as ``make_bundle_v3.py``.

Run once, by hand, when the golden set must be rebuilt (``python tests/golden/make_bundle_v5.py``); the test
``tests/unit/test_golden_learned.py`` then checks that this build decodes the stored envelopes to exactly
the stored float32 bits. A change that alters those bits is a wire-format change: a new wire version.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_bundle_v3 import build  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(build("bundle_v5", 8, "make_bundle_v5.py"))
