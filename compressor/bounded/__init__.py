"""The error-bounded codec (envelope kinds 1 and 2): every decoded value is within E of the original.

Modules, one idea each:

* :mod:`~compressor.bounded.grid`: the bound's 16-bit code, values to grid integers and back (IEEE-exact)
* :mod:`~compressor.bounded.lattice`: the data's own quantum, found at training (kind 2's grid)
* :mod:`~compressor.bounded.predictors`: integer predictors with exact inverses
* :mod:`~compressor.bounded.autoencoder`: the autoencoder as an exact integer predictor
* :mod:`~compressor.bounded.fixedpoint`: the decoder's integer forward pass
* :mod:`~compressor.bounded.tables`: frozen integer entropy tables (scale classes) and fitted tables
* :mod:`~compressor.bounded.context`: the encoder's choice of scale class per block
* :mod:`~compressor.bounded.payload`: one record's ANS stream
* :mod:`~compressor.bounded.stats`: training statistics kept in the bundle
* :mod:`~compressor.bounded.hints`: encoder hints measured at training (effort only, never the bits)
* :mod:`~compressor.bounded.verify`: the consumer-side bound check
* :mod:`~compressor.bounded.codec`: the batch encoder/decoder
"""

from compressor.bounded.codec import BoundedCodec
from compressor.bounded.grid import bound_code, bound_from_code

__all__ = ["BoundedCodec", "bound_code", "bound_from_code"]
