"""Feature learning: the encoder's latent vector of a record as a compact feature vector."""

from __future__ import annotations

import numpy as np

from compressor.bundle import Bundle
from compressor.errors import DataError

__all__ = ["features"]


def features(bundle: Bundle, records: np.ndarray) -> np.ndarray:
    """Unquantized latent vectors (N, latent_dim) float32 of ``records`` (N, D) in original units.

    For a variational model this is the posterior mean."""
    records = np.asarray(records, np.float32)
    if not np.isfinite(records).all():
        raise DataError("records hold NaN/Inf: features need finite records")
    return bundle.predictor("encoder")(bundle.normalizer.forward(records))
