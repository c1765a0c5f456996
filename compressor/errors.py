"""Exceptions raised by latentwire. Every error the project raises derives from :class:`LatentwireError`.

::

    LatentwireError
    ├── ConfigError                        bad option or setting
    ├── DataError (ValueError)             input records that cannot be compressed
    │   ├── ShapeError                     wrong number of values for the model
    │   ├── NonFiniteError                 NaN or Inf in a record (fixed-rate mode)
    │   ├── NotNumericError                strings or objects where numbers belong
    │   └── RejectedRecordsError           refused records, with no dead-letter topic to take them
    ├── EnvelopeError (ValueError)         bytes that are not a valid latentwire envelope
    │   ├── BadMagicError                  not a latentwire payload at all
    │   ├── UnsupportedVersionError        a wire version this build cannot read
    │   └── TruncatedError                 envelope or payload cut short
    ├── BundleError                        a model bundle that cannot be loaded or saved
    │   └── ModelMismatchError             bundle content does not match its id
    ├── UnknownModelError (KeyError)       no bundle known for a model id on the wire
    ├── DeserializationError (ValueError)  a Kafka value that could not be decoded
    ├── SendFailedError                    records Kafka did not accept for good
    ├── RegistryError                      the model registry topic could not be written or read
    └── BrokerError                        the local Kafka broker could not be run

Each class has a short, stable ``kind`` that labels metrics (``errors_total{kind=...}``) and dead-letter
headers; :func:`error_kinds` lists them from this tree. The two errors that wrap others
(:class:`RejectedRecordsError`, :class:`DeserializationError`) report the kind of the error they wrap on
each instance, so a dashboard counts the cause, not the wrapper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from compressor.validation import RejectedRecord

__all__ = [
    "BadMagicError",
    "BrokerError",
    "BundleError",
    "ConfigError",
    "DataError",
    "DeserializationError",
    "EnvelopeError",
    "LatentwireError",
    "ModelMismatchError",
    "NonFiniteError",
    "NotNumericError",
    "RegistryError",
    "RejectedRecordsError",
    "SendFailedError",
    "ShapeError",
    "TruncatedError",
    "UnknownModelError",
    "UnsupportedVersionError",
    "error_kinds",
]


class LatentwireError(Exception):
    """Base class of every latentwire error."""

    #: short, stable label used in metrics (``errors_total{kind=...}``) and dead-letter headers
    kind = "error"
    #: True on errors that wrap another one and take its ``kind`` on each instance
    wraps: ClassVar[bool] = False


class ConfigError(LatentwireError):
    """A bad option or setting."""

    kind = "config"


class DataError(LatentwireError, ValueError):
    """Input records that cannot be compressed."""

    kind = "bad_data"


class ShapeError(DataError):
    """A record with the wrong number of values for the model, or not a flat array."""

    kind = "wrong_shape"


class NonFiniteError(DataError):
    """NaN or Inf in a record, which the fixed-rate codec cannot carry."""

    kind = "non_finite"


class NotNumericError(DataError):
    """Strings or objects where numbers belong."""

    kind = "not_numeric"


class RejectedRecordsError(DataError):
    """Some records of a batch were refused and no dead-letter topic was configured.

    Its ``kind`` is that of the first refused record's error.

    Arguments:
        rejected (list[RejectedRecord]): the refused records, in batch order, each with its index and
            :class:`DataError`; at least one.
    """

    kind = "rejected_records"
    wraps = True

    def __init__(self, rejected: list[RejectedRecord]) -> None:
        first = rejected[0]
        super().__init__(f"{len(rejected)} record(s) refused; first, record {first.index}: {first.error}")
        self.rejected = rejected
        self.kind = first.error.kind


class EnvelopeError(LatentwireError, ValueError):
    """Bytes that are not a valid latentwire envelope."""

    kind = "bad_envelope"


class BadMagicError(EnvelopeError):
    """Bytes that are not a latentwire payload at all."""

    kind = "bad_magic"


class UnsupportedVersionError(EnvelopeError):
    """An envelope with a wire version this build cannot read."""

    kind = "unsupported_version"


class TruncatedError(EnvelopeError):
    """An envelope or payload cut short."""

    kind = "truncated"


class BundleError(LatentwireError):
    """A model bundle that cannot be loaded or saved."""

    kind = "bad_bundle"


class ModelMismatchError(BundleError):
    """A bundle whose content does not match its model id."""

    kind = "model_mismatch"


class UnknownModelError(LatentwireError, KeyError):
    """No bundle known for a model id on the wire."""

    kind = "unknown_model"

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "unknown model"


class DeserializationError(LatentwireError, ValueError):
    """A Kafka value that could not be decoded. Its ``kind`` is that of ``cause``.

    Arguments:
        message (str): what failed, naming the topic.
        cause (LatentwireError): the typed error underneath.
        data (bytes | None): the value that could not be decoded.
    """

    kind = "deserialization"
    wraps = True

    def __init__(self, message: str, cause: LatentwireError, data: bytes | None) -> None:
        super().__init__(message)
        self.cause = cause
        self.data = data
        self.kind = cause.kind


class SendFailedError(LatentwireError):
    """Records that Kafka did not accept for good (the message counts them and names the first error)."""

    kind = "send_failed"


class RegistryError(LatentwireError):
    """The model registry topic could not be written or read in time, or holds an incomplete model."""

    kind = "registry"


class BrokerError(LatentwireError):
    """The local Kafka broker could not be run."""

    kind = "broker"


def error_kinds(*roots: type[LatentwireError]) -> tuple[str, ...]:
    """The ``kind`` of every error class under ``roots`` (each included; default: the whole tree), depth
    first in definition order. Wrappers are left out: their instances carry the kind of what they wrap."""
    kinds: list[str] = []
    for root in roots or (LatentwireError,):
        if not root.wraps:
            kinds.append(root.kind)
        for sub in root.__subclasses__():
            kinds.extend(error_kinds(sub))
    return tuple(kinds)
