"""Wire envelope v1: golden vectors, round trips, and typed errors on bad bytes."""

from __future__ import annotations

import json
from pathlib import Path

import msgpack
import pytest

from compressor.envelope import (
    FRAMING_VERSION,
    HEADER_SIZE,
    MAGIC,
    Envelope,
    Kind,
    pack,
    peek_model_id,
    unpack,
)
from compressor.errors import BadMagicError, EnvelopeError, TruncatedError, UnsupportedVersionError

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "envelope_v1.json").read_text())


@pytest.mark.parametrize("case", GOLDEN["vectors"], ids=lambda c: c["name"])
def test_golden_vectors_pack_and_unpack(case: dict) -> None:
    envelope = Envelope(
        bytes.fromhex(case["model_id"]), case["kind"], bytes.fromhex(case["payload"]), case["length"]
    )
    assert pack(envelope).hex() == case["bytes"]
    assert unpack(bytes.fromhex(case["bytes"])) == envelope


def test_framing_is_eight_bytes_for_short_records() -> None:
    payload = bytes(range(16))
    assert len(pack(Envelope(b"\x01\x02\x03\x04", Kind.FIXED_RATE, payload))) == len(payload) + 8


def test_header_layout() -> None:
    buf = pack(Envelope(b"\xaa\xbb\xcc\xdd", Kind.BOUNDED, b"x"))
    assert buf[0] == MAGIC
    assert buf[1] == 0x11  # version 1, kind 1
    assert buf[2:6] == b"\xaa\xbb\xcc\xdd"
    assert peek_model_id(buf) == b"\xaa\xbb\xcc\xdd"
    assert msgpack.unpackb(buf[HEADER_SIZE:]) == b"x"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", TruncatedError),
        (b"\xc1\x10ab", TruncatedError),
        (b"\xc1\x10abcd", TruncatedError),
        (b'{"json": 1}', BadMagicError),
        (b"\x00\x10abcd\xc4\x01x", BadMagicError),
        (b"\xc1\xa0abcd\xc4\x01x", UnsupportedVersionError),
        (b"\xc1\x00abcd\xc4\x01x", UnsupportedVersionError),
        (b"\xc1\x10abcd\xc4\x05xy", TruncatedError),
        (b"\xc1\x10abcd\xc4\x01xEXTRA", EnvelopeError),
        (b"\xc1\x10abcd\xa3str", EnvelopeError),
        (b"\xc1\x10abcd\x92\xc4\x01x\xa1s", EnvelopeError),
        (b"\xc1\x10abcd\x92\xc4\x01x\x00", EnvelopeError),
        (b"\xc1\x10abcd\x92\xc4\x01x\xc3", EnvelopeError),
        (b"\xc1\x10abcd\x81\x01\x02", EnvelopeError),
        (b"\xc1\x10abcd\xc6\xff\xff\xff\xffx", EnvelopeError),
        (b"\xc1\x10abcd\xdd\xff\xff\xff\xff", EnvelopeError),
    ],
)
def test_bad_bytes_raise_typed_errors(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        unpack(data)


def test_unsupported_version_message_says_what_to_do() -> None:
    with pytest.raises(UnsupportedVersionError, match="upgrade the consumer"):
        unpack(b"\xc1\xa0abcd\xc4\x01x")


def test_each_kind_is_written_with_the_version_that_introduced_it() -> None:
    written = (
        (Kind.FIXED_RATE, 0x10),
        (Kind.BOUNDED, 0x11),
        (Kind.LATTICE, 0x22),
        (Kind.LEARNED, 0x33),
        (Kind.EVENT_WINDOW, 0x34),
        (Kind.EVENT, 0x35),
        (Kind.LEARNED2, 0x46),
        (Kind.FINE_LATTICE, 0x47),
        (Kind.LEARNED3, 0x58),
        (Kind.LEARNED3_LOSSLESS, 0x69),
        (Kind.LEARNED3_COUNTS, 0x7A),
    )
    for kind, head in written:
        buf = pack(Envelope(b"abcd", kind, b"x"))
        assert buf[1] == head
        assert unpack(buf).kind == kind
    # a version-2 reader still reads kinds 0 and 1 written as version 2, but no kind 2 claiming version 1
    assert unpack(b"\xc1\x21abcd\xc4\x01x").kind == Kind.BOUNDED
    with pytest.raises(EnvelopeError, match="kind 2 does not exist in wire version 1"):
        unpack(b"\xc1\x12abcd\xc4\x01x")
    # version 3 defines kinds 3, 4 and 5; none of them exists in version 2
    for head in (0x23, 0x24, 0x25):
        with pytest.raises(EnvelopeError, match="does not exist in wire version 2"):
            unpack(bytes([0xC1, head]) + b"abcd\xc4\x01x")
    # version 9 defines kind 11 (kind 8 with counts where a count is coarser than the grid)
    for version in range(1, 9):
        with pytest.raises(EnvelopeError, match=f"kind 11 does not exist in wire version {version}"):
            unpack(bytes([0xC1, (version << 4) | 11]) + b"abcd\xc4\x01x")
    # version 4 defines kind 6 (a version-2 learned model); it does not exist in version 3
    with pytest.raises(EnvelopeError, match="kind 6 does not exist in wire version 3"):
        unpack(b"\xc1\x36abcd\xc4\x01x")
    # version 4 defines kind 7 (counts on the fine lattice); a version-3 stream cannot hold it
    with pytest.raises(EnvelopeError, match="kind 7 does not exist in wire version 3"):
        unpack(b"\xc1\x37abcd\xc4\x01x")
    # version 5 defines kind 8 (a version-3 learned model); no earlier version holds it
    for head in (0x18, 0x28, 0x38, 0x48):
        with pytest.raises(EnvelopeError, match=f"kind 8 does not exist in wire version {head >> 4}"):
            unpack(bytes([0xC1, head]) + b"abcd\xc4\x01x")
    # version 6 defines kind 9 (kind 8 at the lossless bound, no header); no earlier version holds it
    for head in (0x19, 0x29, 0x39, 0x49, 0x59):
        with pytest.raises(EnvelopeError, match=f"kind 9 does not exist in wire version {head >> 4}"):
            unpack(bytes([0xC1, head]) + b"abcd\xc4\x01x")
    # version 7 defines kind 10 (kind 9 as counts on the fine lattice); no earlier version holds it
    for head in (0x1A, 0x2A, 0x3A, 0x4A, 0x5A, 0x6A):
        with pytest.raises(EnvelopeError, match=f"kind 10 does not exist in wire version {head >> 4}"):
            unpack(bytes([0xC1, head]) + b"abcd\xc4\x01x")


@pytest.mark.parametrize(
    ("kind", "version"),
    [
        (Kind.LEARNED2, 4),
        (Kind.LEARNED3, 5),
        (Kind.LEARNED3_LOSSLESS, 6),
        (Kind.LEARNED3_COUNTS, 7),
        (Kind.LEARNED3_COUNTED, 9),
    ],
)
def test_a_reader_from_before_a_kind_refuses_it_by_its_wire_version(monkeypatch, kind, version) -> None:
    from compressor import envelope

    buf = pack(Envelope(b"abcd", kind, b"x"))
    assert buf[1] >> 4 == version
    monkeypatch.setattr(envelope, "VERSION", version - 1)  # what a build from before the kind reads
    with pytest.raises(
        UnsupportedVersionError,
        match=rf"wire version {version} is not supported .* versions 1 to {version - 1}\); upgrade the consumer",
    ):
        unpack(buf)


def test_version_7_marks_classical_kinds_and_reads_back() -> None:
    from compressor.envelope import CLASSICAL_VERSION

    for kind in (Kind.BOUNDED, Kind.LATTICE, Kind.FINE_LATTICE):
        buf = pack(Envelope(b"abcd", kind, b"x", version=CLASSICAL_VERSION))
        assert buf[1] == (CLASSICAL_VERSION << 4) | kind
        env = unpack(buf)
        assert (env.kind, env.version) == (kind, CLASSICAL_VERSION)
        assert pack(env) == buf
    # the version that defines a kind reads back as 0, so a default envelope round-trips unchanged
    assert unpack(pack(Envelope(b"abcd", Kind.LATTICE, b"x"))) == Envelope(b"abcd", Kind.LATTICE, b"x")
    with pytest.raises(EnvelopeError, match="at most 9"):
        pack(Envelope(b"abcd", Kind.BOUNDED, b"x", version=10))


def test_a_version_6_reader_refuses_version_7(monkeypatch) -> None:
    from compressor import envelope

    buf = pack(Envelope(b"abcd", Kind.BOUNDED, b"x", version=7))
    monkeypatch.setattr(envelope, "VERSION", 6)
    with pytest.raises(
        UnsupportedVersionError, match=r"wire version 7 is not supported .* upgrade the consumer"
    ):
        unpack(buf)


def test_non_bytes_input_is_refused() -> None:
    with pytest.raises(EnvelopeError):
        unpack("text")  # type: ignore[arg-type]


def test_pack_refuses_bad_fields() -> None:
    with pytest.raises(EnvelopeError):
        pack(Envelope(b"abc", 0, b"x"))
    with pytest.raises(EnvelopeError):
        pack(Envelope(b"abcd", 16, b"x"))


@pytest.mark.parametrize(
    "kind", [k for k in Kind if k not in (Kind.EVENT_WINDOW, Kind.EVENT, Kind.LEARNED3_COUNTED)]
)
@pytest.mark.parametrize("size", [0, 1, 255, 256, 70_000])
def test_version_8_frames_a_whole_record_by_the_header_alone(kind: Kind, size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    envelope = Envelope(b"abcd", kind, payload, None, FRAMING_VERSION)
    buf = pack(envelope)
    assert buf == bytes([MAGIC, 0x80 | kind]) + b"abcd" + payload  # 6 bytes of framing, no msgpack
    if size == 0:
        with pytest.raises(TruncatedError, match="no body"):
            unpack(buf)
        return
    got = unpack(buf)
    assert got == envelope and got.version7 is None  # the alphabets its model writes
    # the same record framed as version 7 wrote it is two bytes longer (up to 255 bytes) and decodes the same
    old = pack(Envelope(b"abcd", kind, payload))
    assert unpack(old).payload == payload
    if size < 256:
        assert len(old) == len(buf) + 2


def test_kind_11_is_whole_and_marked_9() -> None:
    envelope = Envelope(b"abcd", Kind.LEARNED3_COUNTED, b"xyz", None, FRAMING_VERSION)
    buf = pack(envelope)
    assert buf == bytes([MAGIC, 0x9B]) + b"abcd" + b"xyz"
    assert unpack(buf) == Envelope(b"abcd", Kind.LEARNED3_COUNTED, b"xyz", None, 9)
    with pytest.raises(EnvelopeError, match="padded record"):
        pack(Envelope(b"abcd", Kind.LEARNED3_COUNTED, b"x", 100))


def test_version_8_has_no_framing_for_a_padded_record() -> None:
    with pytest.raises(EnvelopeError, match="padded record"):
        pack(Envelope(b"abcd", Kind.BOUNDED, b"x", 100, FRAMING_VERSION))


def test_a_version_7_reader_refuses_version_8(monkeypatch) -> None:
    from compressor import envelope

    buf = pack(Envelope(b"abcd", Kind.FIXED_RATE, b"xyz", None, FRAMING_VERSION))
    monkeypatch.setattr(envelope, "VERSION", 7)
    with pytest.raises(
        UnsupportedVersionError, match=r"wire version 8 is not supported .* versions 1 to 7\); upgrade"
    ):
        unpack(buf)


def test_version_8_golden_vectors() -> None:
    golden = json.loads((Path(__file__).parents[1] / "golden" / "envelope_v8.json").read_text())
    assert len(golden["vectors"]) >= 4
    for case in golden["vectors"]:
        envelope = Envelope(
            bytes.fromhex(case["model_id"]),
            case["kind"],
            bytes.fromhex(case["payload"]),
            None,
            case["version"],
        )
        assert pack(envelope).hex() == case["bytes"], case["name"]
        assert unpack(bytes.fromhex(case["bytes"])) == envelope, case["name"]
