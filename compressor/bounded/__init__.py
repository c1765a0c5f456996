"""The error-bounded codec (envelope kind 1): every decoded value is within E of the original.

Modules, one idea each:

* :mod:`~compressor.bounded.grid`: the bound's 16-bit code, values to grid integers and back (IEEE-exact)
* :mod:`~compressor.bounded.predictors`: integer predictors with exact inverses
* :mod:`~compressor.bounded.tables`: frozen integer entropy tables (scale classes)
* :mod:`~compressor.bounded.context`: the encoder's choice of scale class per block
* :mod:`~compressor.bounded.payload`: one record's ANS stream
* :mod:`~compressor.bounded.stats`: training statistics kept in the bundle
* :mod:`~compressor.bounded.verify`: the consumer-side bound check
* :mod:`~compressor.bounded.codec`: the batch encoder/decoder
"""

from compressor.bounded.codec import BoundedCodec
from compressor.bounded.grid import bound_code, bound_from_code

__all__ = ["BoundedCodec", "bound_code", "bound_from_code"]
