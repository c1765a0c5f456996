"""The error-bounded codec of one model: records <-> kind-1, kind-2 and kind-7 payload bodies, with a guaranteed
L-inf bound.

:class:`BoundedCodec` puts three parts together: the coding parameters both sides share
(:mod:`~compressor.bounded.parameters`), the encoder with what it learns while coding
(:mod:`~compressor.bounded.encoder`) and the decoder (:mod:`~compressor.bounded.decoder`).
:func:`codec_for_bundle` builds one from a model bundle.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from compressor.bounded import predictors
from compressor.bounded.autoencoder import autoencoder_of
from compressor.bounded.decoder import BoundedDecoder
from compressor.bounded.encoder import BoundedEncoder
from compressor.bounded.parameters import BoundedParameters
from compressor.bounded.stats import LAYOUT_KEY, smallest_range, value_ranges
from compressor.envelope import CLASSICAL_VERSION

if TYPE_CHECKING:
    from compressor.error_bound import ErrorBound

__all__ = ["RELATIVE_PRESETS", "BoundedCodec", "codec_for_bundle"]

log = logging.getLogger(__name__)


class BoundedCodec:
    """Error-bounded coding of one model's records.

    Arguments:
        params (BoundedParameters): the model's shared coding parameters.

    Attributes:
        params: ``params``, shared by both sides.
        encoder: the :class:`~compressor.bounded.encoder.BoundedEncoder` (adaptive: one per producer).
        decoder: the :class:`~compressor.bounded.decoder.BoundedDecoder`.
    """

    def __init__(self, params: BoundedParameters) -> None:
        self.params = params
        self.encoder = BoundedEncoder(params)
        self.decoder = BoundedDecoder(params)

    def encode(
        self, records: np.ndarray, error_bound: ErrorBound
    ) -> tuple[list[bytes], np.ndarray, np.ndarray]:
        """:meth:`BoundedEncoder.encode <compressor.bounded.encoder.BoundedEncoder.encode>`."""
        return self.encoder.encode(records, error_bound)

    def decode(
        self,
        bodies: Sequence[bytes],
        grids: Sequence[int] | None = None,
        version7: Sequence[bool | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`BoundedDecoder.decode <compressor.bounded.decoder.BoundedDecoder.decode>`."""
        return self.decoder.decode(bodies, grids, version7)

    @property
    def wire_version(self) -> int:
        """The wire version of this model's kind-1, 2 and 7 records: 7 where it was trained with that layout
        and has a linear predictor or a lossless bound (:attr:`BoundedParameters.version7`), else the version
        that defines the kind (0 here)."""
        return CLASSICAL_VERSION if self.params.version7 else 0

    def read_bound(self, body: bytes, version7: bool | None = None) -> float:
        """The bound a payload was coded with, from its first symbols."""
        return self.decoder.read_bound(body, version7)

    def mode_of(self, body: bytes, lattice: bool = False, version7: bool | None = None) -> int:
        """The mode symbol of a payload (slot * 2 + has_raw; see :mod:`compressor.bounded.payload`)."""
        return self.decoder.mode_of(body, lattice, version7)


#: training statistics a classical codec keeps (layout, value ranges for the presets, the data's quantum)
CLASSICAL_STATS = ("layout", "value_min", "value_max", "quantum", "fine_lattice", LAYOUT_KEY)


def codec_for_bundle(bundle: Any, learned: bool = True) -> BoundedCodec:
    """The bounded codec of a model bundle: its record layout, training means and statistics.

    ``learned=False`` switches every learned part off (the autoencoder predictor, the fitted residual
    tables and scales, the encoder hints) and keeps only :data:`CLASSICAL_STATS`: what evaluation reports as
    ``latentwire-classical``, so the learned gain is visible. Its records decode only with a codec built the
    same way (the expected scale class of a column comes from the statistics).
    """
    layout = predictors.record_layout(bundle.record_size, bundle.window, bundle.channels, tuple(bundle.shape))
    d = layout[0] * layout[1]
    norm = bundle.normalizer
    offset = np.tile(np.asarray(norm.offset, np.float32), d // norm.channels)
    scale = np.tile(np.asarray(norm.scale, np.float32), d // norm.channels).reshape(layout)[0]
    stats = bundle.bounded_stats.to_json() if bundle.bounded_stats is not None else {}
    if stats.get("layout") not in (None, list(layout)):
        log.warning(
            "bounded statistics of model %s are for another layout; ignoring them", bundle.model_id[:8]
        )
        stats = {}
    if not learned:
        stats = {key: stats[key] for key in CLASSICAL_STATS if key in stats}
    # the absolute values ErrorBound.resolve(bundle, rel, relative=True) gives
    unit = smallest_range(value_ranges(bundle))
    presets = [] if unit is None else [rel * unit for rel in RELATIVE_PRESETS]
    return BoundedCodec(
        BoundedParameters(
            layout,
            offset,
            stats,
            fallback_scale=scale,
            presets=presets,
            autoencoder=autoencoder_of(bundle, stats) if learned else None,
            quanta=stats.get("quantum"),
            fine=stats.get("fine_lattice"),
        )
    )


#: relative bounds whose absolute value a record names in ~3.6 bits instead of 16
RELATIVE_PRESETS = (1e-1, 5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4)
