"""Regenerate ``bundle_v2/`` and ``bundle_v2_vectors.json``: error-bounded envelopes of both grids.

Run once, by hand, when the golden set must be rebuilt (``python tests/golden/make_bundle_v2.py``); the test
``tests/unit/test_golden_bounded.py`` then checks that this build decodes the stored envelopes to exactly
the stored float32 bits. Any change to the kind-1 or kind-2 payloads that alters those bits is a
wire-format change and needs a new wire version, not a new golden file.

The model is a small dense autoencoder on scikit-learn's bundled 8x8 digits (integers 0..16, so the
training statistics find a quantum of 1 and fit residual tables on that lattice).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.golden_sets import write_vectors  # noqa: E402

#: (name, first record, count, absolute bound, true length of the last record or None)
CASES = (
    ("lattice, E below the quantum (lossless, fitted tables)", 1000, 3, 0.2, None),
    ("lattice, E = 1 on integers (step 3 quanta)", 1003, 3, 1.0, None),
    ("plain grid, E = 2.5 (lattice no coarser)", 1006, 3, 2.5, None),
    ("lattice, E = 1.9: step 3 finer than 2E (kind 2 forced)", 1011, 4, 1.9, None),
    ("lattice with a NaN and a padded tail of 50 values", 1009, 2, 0.2, 50),
)


def main() -> int:
    from sklearn.datasets import load_digits

    from compressor.bounded.grid import bound_code
    from compressor.bundle import load_bundle, save_bundle
    from compressor.codec import Codec
    from compressor.training import TrainingConfig, train

    digits = load_digits().data.astype(np.float32)
    bundle, _ = train(
        digits[:1000],
        window=1,
        channels=1,
        shape=(8, 8),
        config=TrainingConfig(epochs=20, latent_dim=8),
        progress=False,
    )
    out = HERE / "bundle_v2"
    if out.exists():
        shutil.rmtree(out)
    save_bundle(bundle, out)
    bundle = load_bundle(out)
    vectors = []
    for name, first, count, bound, length in CASES:
        records = digits[first : first + count].copy()
        lengths = None
        if length is not None:
            records[0, 5] = np.nan
            records[-1, length:] = 0.0
            lengths = [None] * (count - 1) + [length]
        codec = Codec(bundle, error_bound=bound)
        if "forced" in name:
            # the encoder would pick the plain grid here; the vector pins down a decoder's finer lattice steps
            codec.bounded_coder.encoder.prefer_lattice[bound_code(bound)] = True
        encoded = codec.encode(records, lengths)
        for i, payload in enumerate(encoded.payloads):
            n = lengths[i] if lengths and lengths[i] else records.shape[1]
            vectors.append(
                {
                    "name": f"{name} #{i}",
                    "error_bound": bound,
                    "envelope": payload.hex(),
                    "decoded_float32_bits": encoded.decoded[i, :n].view(np.uint32).tolist(),
                }
            )
    write_vectors(
        "bundle_v2",
        bundle.model_id,
        "sklearn.datasets.load_digits().data as float32 (rows 1000-1014)",
        vectors,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
