"""Exceptions raised by latentwire. Every error the project raises derives from :class:`LatentwireError`.

::

    LatentwireError
    ├── ConfigError                  bad option or setting
    ├── DataError (ValueError)       input records that cannot be compressed
    │   ├── ShapeError               wrong number of values for the model
    │   ├── NonFiniteError           NaN or Inf in a record (fixed-rate mode)
    │   └── NotNumericError          strings or objects where numbers belong
    ├── EnvelopeError (ValueError)   bytes that are not a valid latentwire envelope
    │   ├── BadMagicError            not a latentwire payload at all
    │   ├── UnsupportedVersionError  a wire version this build cannot read
    │   └── TruncatedError           envelope or payload cut short
    ├── BundleError                  a model bundle that cannot be loaded or saved
    │   └── ModelMismatchError       bundle content does not match its id
    ├── UnknownModelError (KeyError) no bundle known for a model id on the wire
    └── BrokerError                  the local Kafka broker could not be run
"""

from __future__ import annotations

__all__ = [
    "BadMagicError",
    "BrokerError",
    "BundleError",
    "ConfigError",
    "DataError",
    "EnvelopeError",
    "LatentwireError",
    "ModelMismatchError",
    "NonFiniteError",
    "NotNumericError",
    "ShapeError",
    "TruncatedError",
    "UnknownModelError",
    "UnsupportedVersionError",
]


class LatentwireError(Exception):
    """Base class of every latentwire error."""

    #: short, stable label used in metrics (``errors_total{kind=...}``) and dead-letter headers
    kind = "error"


class ConfigError(LatentwireError):
    kind = "config"


class DataError(LatentwireError, ValueError):
    kind = "bad_data"


class ShapeError(DataError):
    kind = "wrong_shape"


class NonFiniteError(DataError):
    kind = "non_finite"


class NotNumericError(DataError):
    kind = "not_numeric"


class EnvelopeError(LatentwireError, ValueError):
    kind = "bad_envelope"


class BadMagicError(EnvelopeError):
    kind = "bad_magic"


class UnsupportedVersionError(EnvelopeError):
    kind = "unsupported_version"


class TruncatedError(EnvelopeError):
    kind = "truncated"


class BundleError(LatentwireError):
    kind = "bad_bundle"


class ModelMismatchError(BundleError):
    kind = "model_mismatch"


class UnknownModelError(LatentwireError, KeyError):
    kind = "unknown_model"

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "unknown model"


class BrokerError(LatentwireError):
    kind = "broker"
