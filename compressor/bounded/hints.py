"""Encoder hints measured at training on held-back records: how much effort the encoder should spend where.

Both only steer the producer's search; a consumer decodes the same bits with or without them.

* ``autoencoder_win_rate``: the fraction of records on which the autoencoder predictor beat the simple
  ones. A model whose autoencoder never won starts the encoder trying it on 1 record in 16, not on every
  batch (it costs ~0.3 ms a try on long records).
* ``lattice_preference``: for each preset bound where the data's lattice is finer than ``2E`` in some
  column (so only its fitted tables can make it pay), whether it did pay on most records. Without it the
  encoder compares both grids on the first records it codes at that bound.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from compressor.bounded.autoencoder import AE_PREDICTORS
from compressor.bounded.codec import codec_for_bundle
from compressor.bounded.stats import PREFERENCE_KEY, WIN_RATE_KEY

__all__ = ["fit_hints"]

_SAMPLE = 256
_WIN_RATE_BOUNDS = (1e-2, 1e-3)  # relative to the training range: the presets users reach for first


def fit_hints(bundle: Any, records: np.ndarray) -> dict[str, Any]:
    """The hints for ``bundle`` from finite held-back ``records`` (N, D); empty when nothing applies."""
    sample = np.asarray(records, dtype=np.float32)[:_SAMPLE]
    if len(sample) == 0:
        return {}
    codec = codec_for_bundle(bundle)
    encoder = codec.encoder
    hints: dict[str, Any] = {}
    preference = {}
    for code in codec.params.presets:
        if encoder.grid_policy(code) != "choose":
            continue
        lattice = encoder.estimate_bits(encoder.quantize(sample, code, True), code, True)
        plain = encoder.estimate_bits(encoder.quantize(sample, code, False), code, False)
        preference[str(code)] = bool(2 * int((lattice < plain).sum()) >= len(sample))
    if preference:
        hints[PREFERENCE_KEY] = preference
    if codec.params.autoencoder is not None and codec.params.presets:
        hints[WIN_RATE_KEY] = _win_rate(bundle, sample)
    return hints


def _win_rate(bundle: Any, sample: np.ndarray) -> float:
    from compressor.error_bound import ErrorBound

    wins = total = 0
    for rel in _WIN_RATE_BOUNDS:
        codec = codec_for_bundle(bundle)  # a fresh one per bound: it tries the autoencoder from the start
        ae_slots = {i for i, name in enumerate(codec.params.predictors) if name in AE_PREDICTORS}
        bodies, _, lattice = codec.encode(sample, ErrorBound.resolve(bundle, rel, relative=True))
        wins += sum(codec.mode_of(b, bool(f)) >> 1 in ae_slots for b, f in zip(bodies, lattice, strict=True))
        total += len(bodies)
    return wins / total
