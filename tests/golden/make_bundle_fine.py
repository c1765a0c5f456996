"""Regenerate ``bundle_fine/`` and ``bundle_fine_vectors.json``: envelopes of kind 7 (counts on the fine
lattice inside the data's quantum).

Run once, by hand, when the golden set must be rebuilt (``python tests/golden/make_bundle_fine.py``); the
test ``tests/unit/test_golden_fine_lattice.py`` then checks that this build decodes the stored envelopes to
exactly the stored float32 bits. A change that alters those bits is a wire-format change: a new wire version.

The model is trained on three series a seeded generator makes as a sensor driver would: integer counts
converted to units and rounded (two to 3 decimals, one to whole units with truncation toward zero), so the
training statistics find a quantum of 0.001 or 1 and, inside it, each column's fine lattice. Window 32.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.golden_sets import encoded_vectors, save_golden_bundle, write_vectors  # noqa: E402

#: (name, first test record, count, absolute bound, value made off the fine lattice or None)
CASES = (
    ("counts, E below the quantum (lossless)", 0, 4, 4e-4, None),
    ("counts with one value off the fine lattice (raw)", 4, 2, 4e-4, 3),
    ("lattice, E = 0.01 (no counts above the quantum)", 6, 2, 0.01, None),
)


def series() -> np.ndarray:
    """(300, 96) float32 records: three channels of converted and rounded sensor counts, window 32."""
    rng = np.random.default_rng(5)
    t = np.arange(300 * 32)
    a = np.rint(120 * np.sin(t / 17) + rng.normal(0, 3, t.size))
    b = np.rint(0.5 * a + 60 * np.cos(t / 11) + rng.normal(0, 3, t.size))
    c = np.rint(40 * np.sin(t / 7) + rng.normal(0, 2, t.size))
    x = np.stack([np.round(a * 0.066931, 3), np.round(b * 0.035712, 3), np.trunc(c * 10.1)], axis=1)
    return x.astype(np.float32).reshape(300, 96)


def write_learned_counts(name: str, bundle, bound: float, label: str, kind: int, what: str) -> None:  # noqa: ANN001
    """Write ``<name>_vectors.json``: records 220 to 225 of :func:`series` coded by ``bundle`` at ``bound``
    (vectors named ``label``), checked to hold a record of envelope ``kind`` (``what`` it codes)."""
    from compressor.codec import Codec

    first, count = 220, 6
    batch = series()[first : first + count]
    vectors = encoded_vectors(label, bound, Codec(bundle, error_bound=bound).encode(batch), batch)
    kinds = {bytes.fromhex(v["envelope"])[1] & 0x0F for v in vectors}
    if kind not in kinds:
        raise SystemExit(f"no record was coded as {what} (kind {kind}): kinds {sorted(kinds)}")
    source = f"tests/golden/make_bundle_fine.py series(), records {first}-{first + count - 1}"
    write_vectors(name, bundle.model_id, source, vectors)


def main() -> int:
    from compressor.codec import Codec
    from compressor.envelope import Kind
    from compressor.training import train

    records = series()
    bundle, _ = train(records[:220], window=32, channels=3, progress=False)
    if bundle.bounded_stats is None or bundle.bounded_stats.fine_lattice is None:
        raise SystemExit("the training statistics found no fine lattice")
    bundle = save_golden_bundle(bundle, "bundle_fine")
    test = records[220:]
    vectors = []
    for name, first, count, bound, off in CASES:
        batch = test[first : first + count].astype(np.float64)
        if off is not None:
            batch[0, off] += 0.001
        batch = np.round(batch, 3).astype(np.float32)
        vectors += encoded_vectors(name, bound, Codec(bundle, error_bound=bound).encode(batch), batch)
    kinds = {bytes.fromhex(v["envelope"])[1] & 0x0F for v in vectors}
    if Kind.FINE_LATTICE not in kinds:
        raise SystemExit(f"no record was coded as counts: kinds {sorted(kinds)}")
    write_vectors(
        "bundle_fine", bundle.model_id, "tests/golden/make_bundle_fine.py series(), records 220-227", vectors
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
