"""The latentwire wire envelope: bytes only (msgpack and the standard library; no Keras, no Kafka).

Layout (documented in ``docs/wire-format.md``)::

    offset  size  field
    0       1     magic 0xC1 (a byte msgpack never emits, so a latentwire value is never valid msgpack/JSON)
    1       1     (version << 4) | kind        kind 0 = fixed-rate latent, 1 = error-bounded (version 1);
                                               kind 2 = error-bounded on the data's lattice (version 2);
                                               kind 3 = learned probability model, 4 = a window
                                               of events, 5 = one event (version 3; payload layout in
                                               compressor/events/coder.py); kind 6 = learned model,
                                               version 2 (wire version 4); kind 7 =
                                               error-bounded as counts on the fine lattice
                                               (version 4); kind 8 = learned model, version 3:
                                               shorter rANS streams (wire version 5); kind 9 =
                                               kind 8 at the model's lossless bound on the
                                               data's lattice, without its header byte(s)
                                               (wire version 6); kinds 1, 2 and 7 of a
                                               model trained with the version-7 layout: a
                                               mode slot and a preset bound more; kind 10
                                               = kind 9 as counts on the fine lattice (7);
                                               kind 11 = kind 8 with counts in the columns
                                               whose count is coarser than its grid (9)
    2       4     model id: the first 4 bytes of the bundle's SHA-256 content hash
    6       ...   body: in wire version 8, the coded record itself (to the end of the value); before it, one
                  msgpack object:
                    bin                  the coded record (full length)
                    [bin, uint]          the coded record and its true number of values (padded tail)

Framing costs 6 bytes per record in version 8, the header alone: a Kafka record value carries its own length,
so the body needs none. A padded record (the final partial window of a file) keeps the msgpack body of
version 7 and is marked as version 7 would mark it. Before version 8, framing cost 8 bytes per record whose
coded record was under 256 bytes (6 header + 2 for bin8).

A writer marks each envelope with the lowest version that defines its kind, so a stream without kind 2 is
byte-for-byte what version 1 wrote and version-1 consumers read it; they reject a kind-2 record as an
unsupported version instead of misreading it. Wire version 7 changed no kind's layout but the mode
alphabets of kinds 1, 2 and 7 from a model trained with its layout (the fitted linear predictor's mode slot,
the lossless bound among the preset bounds): those records are marked 7, so older consumers reject them,
and :attr:`Envelope.version` tells a decoder which alphabets a record of such a model uses (records of it
marked 1, 2 or 4 come from an older producer). Wire version 8 changed only the framing (above): a writer
marks every whole record 8, whatever its kind (events too), and a record marked 8 uses the alphabets its model
writes. Wire version 9 adds kind 11 (whole records only, marked 9; every other kind is still marked 8) and
changes nothing else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import msgpack

from compressor.errors import BadMagicError, EnvelopeError, TruncatedError, UnsupportedVersionError

__all__ = [
    "HEADER_SIZE",
    "MAGIC",
    "MAX_BODY_BYTES",
    "MODEL_ID_SIZE",
    "VERSION",
    "Envelope",
    "BOUNDED_KINDS",
    "LEARNED_KINDS",
    "CLASSICAL_VERSION",
    "FRAMING_VERSION",
    "Kind",
    "header",
    "pack",
    "pack_body",
    "peek_model_id",
    "unpack",
]

MAGIC = 0xC1
#: the newest wire version this build reads and writes
VERSION = 9
#: the wire version from which a whole record's body is the coded record itself, without msgpack framing
FRAMING_VERSION = 8
#: the wire version of kinds 1, 2 and 7 from a model trained with the version-7 classical layout (the fitted
#: linear predictor's mode slot and the lossless bound as a preset, where the model has them)
CLASSICAL_VERSION = 7
MODEL_ID_SIZE = 4
HEADER_SIZE = 2 + MODEL_ID_SIZE
#: A body larger than this is refused before msgpack allocates anything (Kafka's default limit is 1 MiB).
MAX_BODY_BYTES = 64 * 1024 * 1024

_HEADER = struct.Struct(">BB4s")


class Kind(IntEnum):
    """What the coded record holds; the decoder dispatches on it."""

    FIXED_RATE = 0
    BOUNDED = 1
    LATTICE = 2
    #: error-bounded under a version-1 learned probability model (wire version 3)
    LEARNED = 3
    #: a window of events of one key (wire version 3)
    EVENT_WINDOW = 4
    #: one event, every field coded (wire version 3)
    EVENT = 5
    #: error-bounded under a version-2 learned model: the richer context (wire version 4)
    LEARNED2 = 6
    #: error-bounded as counts on the fine lattice inside the data's quantum (wire version 4)
    FINE_LATTICE = 7
    #: error-bounded under a version-3 learned model: version 2's, with shorter streams (wire version 5)
    LEARNED3 = 8
    #: kind 8 at the bundle's lossless bound on the data's lattice, its payload without the header that
    #: names bound and grid (the decoder knows both from the bundle; wire version 6)
    LEARNED3_LOSSLESS = 9
    #: kind 9 on the fine lattice: the learned model codes the counts (wire version 7)
    LEARNED3_COUNTS = 10
    #: kind 8 with counts in the columns whose fine lattice is coarser than the record's grid (wire version 9)
    LEARNED3_COUNTED = 11


#: the kinds whose payload is coded under a learned model (:mod:`compressor.learned`), by model version
LEARNED_KINDS = (
    Kind.LEARNED,
    Kind.LEARNED2,
    Kind.LEARNED3,
    Kind.LEARNED3_LOSSLESS,
    Kind.LEARNED3_COUNTS,
    Kind.LEARNED3_COUNTED,
)

#: the kinds of the bounded coder, one per grid (compressor.bounded.grid.PLAIN, LATTICE, FINE)
BOUNDED_KINDS = (Kind.BOUNDED, Kind.LATTICE, Kind.FINE_LATTICE)

#: the wire version that introduced each kind (kinds not listed: version 1)
_KIND_VERSION = {
    Kind.LATTICE: 2,
    Kind.LEARNED: 3,
    Kind.EVENT_WINDOW: 3,
    Kind.EVENT: 3,
    Kind.LEARNED2: 4,
    Kind.FINE_LATTICE: 4,
    Kind.LEARNED3: 5,
    Kind.LEARNED3_LOSSLESS: 6,
    Kind.LEARNED3_COUNTS: 7,
    Kind.LEARNED3_COUNTED: 9,
}


@dataclass(frozen=True, slots=True)
class Envelope:
    """One coded record as it travels on the wire.

    Arguments:
        model_id (bytes): the first ``MODEL_ID_SIZE`` bytes of the model's id.
        kind (int): what the payload holds (a :class:`Kind`).
        payload (bytes): the coded record.
        length (int | None): true number of values when the record was padded (a file's final partial
            window). Default: None, the record is whole.
        version (int): the wire version it is marked with (:func:`unpack` gives 0 for the lowest version
            that defines its kind, which is what 0 packs). Default: 0.
    """

    model_id: bytes
    kind: int
    payload: bytes
    length: int | None = None
    version: int = 0

    @property
    def version7(self) -> bool | None:
        """Whether a classical record (kinds 1, 2, 7) uses the version-7 alphabets (the linear predictor's
        mode slot, the lossless preset bound): True where marked :data:`CLASSICAL_VERSION`, False where marked
        earlier, None where marked :data:`FRAMING_VERSION` or later (the alphabets its model writes: a
        version-8 writer marks every whole record 8)."""
        if self.version >= FRAMING_VERSION:
            return None
        return self.version >= CLASSICAL_VERSION


def pack(envelope: Envelope) -> bytes:
    """Serialize one envelope (a padded one, ``length`` set, cannot be marked :data:`FRAMING_VERSION`)."""
    return pack_body(
        header(envelope.model_id, envelope.kind, envelope.version), envelope.payload, envelope.length
    )


def header(model_id: bytes, kind: int, version: int = 0) -> bytes:
    """The header of every envelope of ``model_id`` and ``kind`` (a writer may keep it: it never changes),
    marked with wire ``version``, at least the version that defines ``kind`` (0: that one)."""
    if len(model_id) != MODEL_ID_SIZE:
        raise EnvelopeError(f"model id must be {MODEL_ID_SIZE} bytes, got {len(model_id)}")
    if not 0 <= kind < 16:
        raise EnvelopeError(f"kind must fit in 4 bits, got {kind}")
    if not 0 <= version <= VERSION:
        raise EnvelopeError(f"wire version must be at most {VERSION}, got {version}")
    return _HEADER.pack(MAGIC, (max(_KIND_VERSION.get(kind, 1), version) << 4) | kind, model_id)


def pack_body(head: bytes, payload: bytes, length: int | None = None) -> bytes:
    """An envelope from its :func:`header` and body (what :func:`pack` writes for the same fields)."""
    if head[1] >> 4 >= FRAMING_VERSION:
        if length is not None:
            raise EnvelopeError(
                f"a padded record has no wire-version-{FRAMING_VERSION} framing: mark it as version 7 would"
            )
        return head + payload
    if length is None and len(payload) < 256:
        # msgpack's own encoding of a short bin (bin8), written directly: the hot path
        return head + b"\xc4" + bytes((len(payload),)) + payload
    return head + msgpack.packb(payload if length is None else [payload, length], use_bin_type=True)


def _check_header(buf: bytes) -> tuple[int, bytes, int]:
    if len(buf) < HEADER_SIZE:
        if buf[:1] not in (b"", bytes([MAGIC])):
            raise BadMagicError(
                f"not a latentwire envelope: first byte 0x{buf[0]:02x}, expected 0x{MAGIC:02x}"
            )
        raise TruncatedError(f"envelope is {len(buf)} bytes, shorter than its {HEADER_SIZE}-byte header")
    magic, version_kind, model_id = _HEADER.unpack_from(buf)
    if magic != MAGIC:
        raise BadMagicError(f"not a latentwire envelope: first byte 0x{magic:02x}, expected 0x{MAGIC:02x}")
    version = version_kind >> 4
    if not 1 <= version <= VERSION:
        raise UnsupportedVersionError(
            f"wire version {version} is not supported by this build (it reads versions 1 to {VERSION}); "
            "upgrade the consumer"
        )
    kind = version_kind & 0x0F
    if _KIND_VERSION.get(kind, 1) > version:
        raise EnvelopeError(f"envelope kind {kind} does not exist in wire version {version}")
    return kind, model_id, version


def peek_model_id(buf: bytes) -> bytes:
    """The model id of an envelope, after checking magic and version, without decoding the body."""
    return _check_header(buf)[1]


def _marked(version: int, kind: int) -> int:
    """:attr:`Envelope.version` of an envelope read with ``version``: 0 where that is the one defining its
    kind (what a default envelope packs)."""
    return 0 if version == _KIND_VERSION.get(kind, 1) else version


def unpack(buf: bytes | bytearray | memoryview) -> Envelope:
    """Parse one envelope; raise an :class:`~compressor.errors.EnvelopeError` subclass if it is not valid."""
    if not isinstance(buf, bytes | bytearray | memoryview):
        raise EnvelopeError(f"envelope must be bytes, got {type(buf).__name__}")
    buf = bytes(buf)
    kind, model_id, version = _check_header(buf)
    if version >= FRAMING_VERSION:
        # the body is the coded record, to the end of the value
        if len(buf) == HEADER_SIZE:
            raise TruncatedError("envelope has a header but no body")
        if len(buf) - HEADER_SIZE > MAX_BODY_BYTES:
            raise EnvelopeError(f"envelope body of {len(buf) - HEADER_SIZE} bytes exceeds {MAX_BODY_BYTES}")
        return Envelope(model_id, kind, buf[HEADER_SIZE:], None, version)
    version = _marked(version, kind)
    if (
        len(buf) > HEADER_SIZE + 1
        and buf[HEADER_SIZE] == 0xC4
        and len(buf) == HEADER_SIZE + 2 + buf[HEADER_SIZE + 1]
    ):
        # a lone bin8 body, the common case, read without a general msgpack parse
        return Envelope(model_id, kind, buf[HEADER_SIZE + 2 :], None, version)
    body_bytes = buf[HEADER_SIZE:]
    if not body_bytes:
        raise TruncatedError("envelope has a header but no body")
    if len(body_bytes) > MAX_BODY_BYTES:
        raise EnvelopeError(f"envelope body of {len(body_bytes)} bytes exceeds {MAX_BODY_BYTES}")
    try:
        body = msgpack.unpackb(
            body_bytes,
            use_list=True,
            raw=False,
            max_bin_len=len(body_bytes),
            max_str_len=0,
            max_array_len=2,
            max_map_len=0,
            max_ext_len=0,
        )
    except msgpack.ExtraData as exc:
        raise EnvelopeError(f"envelope has {len(exc.extra)} trailing bytes after its body") from exc
    except (msgpack.OutOfData, ValueError) as exc:
        if "incomplete" in str(exc).lower() or isinstance(exc, msgpack.OutOfData):
            raise TruncatedError(f"envelope body is truncated: {exc}") from exc
        raise EnvelopeError(f"envelope body is not valid msgpack: {exc}") from exc
    except Exception as exc:  # msgpack raises assorted errors on hostile input (e.g. FormatError, StackError)
        raise EnvelopeError(f"envelope body is not valid msgpack: {type(exc).__name__}: {exc}") from exc
    if isinstance(body, bytes):
        return Envelope(model_id, kind, body, None, version)
    if (
        isinstance(body, list)
        and len(body) == 2
        and isinstance(body[0], bytes)
        and isinstance(body[1], int)
        and not isinstance(body[1], bool)
        and body[1] > 0
    ):
        return Envelope(model_id, kind, body[0], body[1], version)
    raise EnvelopeError(f"envelope body must be bin or [bin, positive int], got {type(body).__name__}")
