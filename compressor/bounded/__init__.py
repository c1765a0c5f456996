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
* :mod:`~compressor.bounded.parameters`: the coding parameters both sides share, and what follows per bound
* :mod:`~compressor.bounded.symbols`: each record's symbols, grouped for its ANS stream
* :mod:`~compressor.bounded.probe`: when the encoder tries the autoencoder predictors
* :mod:`~compressor.bounded.encoder`: the batch encoder (grid choice, predictor search; learns effort)
* :mod:`~compressor.bounded.decoder`: the batch decoder
* :mod:`~compressor.bounded.codec`: encoder and decoder of one bundle together
* :mod:`~compressor.bounded.hints`: encoder hints measured at training (effort only, never the bits)
* :mod:`~compressor.bounded.verify`: the consumer-side bound check
"""

from compressor.bounded.codec import BoundedCodec
from compressor.bounded.grid import bound_code, bound_from_code
from compressor.bounded.parameters import BoundedParameters

__all__ = ["BoundedCodec", "BoundedParameters", "bound_code", "bound_from_code"]
