"""Regenerate ``bundle_season/`` and ``bundle_season_vectors.json``: learned records (kinds 8 and 9) of a
version-4 learned model, whose prediction adds a seasonal term (the column's changes one period back).

Run once, by hand, when the golden set must be rebuilt (``python tests/golden/make_bundle_season.py``); the
test ``tests/unit/test_golden_season.py`` then checks that this build decodes the stored envelopes to
exactly the stored float32 bits and writes exactly these envelopes. A change that alters those bits is a
wire-format change.

The model is trained at defaults on two integer series made by a seeded generator, window 48: each repeats a
shape every 20 rows (longer than the classical coder's 16 fitted lags) that drifts from one period to the next, plus noise: a few past values of a column
predict it poorly, the same place one period back well.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.golden_sets import encoded_vectors, save_golden_bundle, write_vectors  # noqa: E402

PERIOD = 20
WINDOW = 48
#: (name, first test record, count, bound, relative); bound None: the bundle's lossless bound (kind 9)
CASES = (
    ("E = 0.4, below the quantum", 0, 3, 0.4, False),
    ("relative preset bound 1e-2", 3, 3, 1e-2, True),
    ("relative preset bound 1e-3", 6, 3, 1e-3, True),
    ("the bundle's lossless bound", 9, 2, None, False),
)


def series() -> np.ndarray:
    """(320, 2 * WINDOW) float32 records: two integer series, each a shape repeated every PERIOD rows that drifts from
    one period to the next (an AR(1) over periods: only the same place one period back predicts it)."""
    rng = np.random.default_rng(12)
    cycles = 320 * WINDOW // PERIOD + 1
    shapes = np.empty((cycles, PERIOD, 2))
    shapes[0] = rng.normal(0, 100, (PERIOD, 2))
    for k in range(1, cycles):
        shapes[k] = 0.95 * shapes[k - 1] + 0.31 * rng.normal(0, 100, (PERIOD, 2))
    values = shapes.reshape(-1, 2)[: 320 * WINDOW] + rng.normal(0, 4, (320 * WINDOW, 2))
    values[:, 1] += 0.3 * values[:, 0]
    return np.rint(values).astype(np.float32).reshape(320, 2 * WINDOW)


def main() -> int:
    from compressor.codec import Codec
    from compressor.error_bound import ErrorBound
    from compressor.learned.bundle import learned_model_of
    from compressor.training import train

    records = series()
    bundle, _ = train(records[:240], window=WINDOW, channels=2, progress=False)
    model = learned_model_of(bundle) if bundle.learned is not None else None
    if model is None or model.version != 4:
        raise SystemExit(f"no version-4 learned model was kept: {bundle.learned}")
    bundle = save_golden_bundle(bundle, "bundle_season")
    test = records[240:]
    vectors = []
    for case, first, count, bound, relative in CASES:
        if bound is None:
            e = ErrorBound.lossless(bundle).value
        else:
            e = ErrorBound.resolve(bundle, bound, relative=relative).value
        source = test[first : first + count]
        vectors += encoded_vectors(case, e, Codec(bundle, error_bound=e).encode(source), source)
    write_vectors(
        "bundle_season",
        bundle.model_id,
        "tests/golden/make_bundle_season.py series(), records 240-250",
        vectors,
    )
    print(f"period {model.period}, season {np.round(model.season, 3).tolist()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
