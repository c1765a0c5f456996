"""Lossless per-record anchors: libaec (CCSDS 121.0), FLAC frames (libFLAC) and pcodec.

The bar for data that latentwire codes losslessly (a bound below half the data's quantum): each record is
compressed on its own, as one Kafka record, and every byte that must travel is counted; what a schema fixes
once per stream (FLAC's STREAMINFO block, pcodec's file header, the record shape) is not.

Each coder sees integers when it can: a record whose float32 values are all ``n / 10**p`` for integers
``n`` (the smallest ``p`` in 0..6, checked bit for bit on the decoded floats) is coded as those integers,
which is how ADC data, counts and fixed-decimal readings reach such coders in practice. Every payload starts
with one byte: ``p``, or :data:`FLOAT_TAG` when the record is no such lattice (libaec and pcodec then code the
float32 bit patterns, FLAC cannot and the record goes raw). A multichannel record (``rows x cols``) is coded
channel after channel (column-major), FLAC with one audio channel per column when there are at most eight.
"""

from __future__ import annotations

import io
import struct

import numpy as np

__all__ = ["FLOAT_TAG", "aec_baseline", "as_decimal_integers", "flac_baseline", "pcodec_baseline"]

#: first payload byte of a record coded as float32 bit patterns (or raw)
FLOAT_TAG = 0x80
_MAX_DECIMALS = 6
#: libaec block size (samples per adaptive Rice block) and reference sample interval, in blocks
AEC_BLOCK = 32
AEC_RSI = 128
_FLAC_RATE = 48000  # any rate: FLAC's coding does not depend on it; fixed by the schema


def as_decimal_integers(x: np.ndarray) -> tuple[np.ndarray, int] | None:
    """``(n, p)`` with ``float32(n / 10**p)`` bit-identical to float32 ``x`` and ``|n| < 2**31``, or None."""
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        return None
    x64 = x.astype(np.float64)
    bits = x.view(np.uint32)
    for p in range(_MAX_DECIMALS + 1):
        n = np.rint(x64 * 10.0**p)
        if np.abs(n).max(initial=0) >= 2**31:
            return None
        back = (n / 10.0**p).astype(np.float32)
        if np.array_equal(back.view(np.uint32), bits):
            return n.astype(np.int64), p
    return None


def _from_integers(n: np.ndarray, p: int) -> np.ndarray:
    return (np.asarray(n, np.float64) / 10.0**p).astype(np.float32)


def _columns(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The record as (rows, cols)."""
    rows = shape[0]
    return np.asarray(x).reshape(rows, -1)


def _signed_bits(n: np.ndarray) -> int:
    """Bits of the smallest two's-complement type holding every value of ``n`` (at least 2)."""
    lo, hi = int(n.min(initial=0)), int(n.max(initial=0))
    return max(2, max(hi.bit_length(), (-lo - 1).bit_length()) + 1)


# ----------------------------------------------------------------------------------------------- libaec


def aec_baseline():  # noqa: ANN201 - a compressor.baselines.Baseline
    """libaec (CCSDS 121.0 adaptive Rice with unit-delay preprocessing), block 32, via ``imagecodecs``."""
    import imagecodecs

    from compressor.baselines import Baseline

    flag = imagecodecs.AEC.FLAG
    signed = flag.DATA_SIGNED | flag.DATA_PREPROCESS

    def encode(x: np.ndarray, shape: tuple[int, ...], e: float) -> bytes:
        cols = _columns(np.asarray(x, np.float32), shape)
        ints = as_decimal_integers(cols)
        if ints is None:
            seq = np.ascontiguousarray(cols.T).reshape(-1).view(np.uint32)
            body = imagecodecs.aec_encode(
                seq, bitspersample=32, flags=flag.DATA_PREPROCESS, blocksize=AEC_BLOCK, rsi=AEC_RSI
            )
            return bytes([FLOAT_TAG]) + body
        n, p = ints
        bits = _container_bits(_signed_bits(n))
        seq = np.ascontiguousarray(n.T).reshape(-1).astype(_aec_dtype(bits))
        body = imagecodecs.aec_encode(seq, bitspersample=bits, flags=signed, blocksize=AEC_BLOCK, rsi=AEC_RSI)
        return bytes([p, bits]) + body

    def decode(data: bytes, shape: tuple[int, ...], e: float) -> np.ndarray:
        rows = shape[0]
        size = int(np.prod(shape))
        if data[0] == FLOAT_TAG:
            out = np.empty(_aec_room(size), np.uint32)
            imagecodecs.aec_decode(
                data[1:],
                bitspersample=32,
                flags=flag.DATA_PREPROCESS,
                blocksize=AEC_BLOCK,
                rsi=AEC_RSI,
                out=out,
            )
            return out[:size].view(np.float32).reshape(-1, rows).T.reshape(shape)
        p, bits = data[0], data[1]
        out = np.empty(_aec_room(size), _aec_dtype(bits))
        imagecodecs.aec_decode(
            data[2:], bitspersample=bits, flags=signed, blocksize=AEC_BLOCK, rsi=AEC_RSI, out=out
        )
        return _from_integers(out[:size].reshape(-1, rows).T, p).reshape(shape)

    return Baseline("libaec", True, encode, decode)


def _aec_room(size: int) -> int:
    """Decoder buffer: a zero-block run may fill its reference interval past the record's end."""
    span = AEC_BLOCK * AEC_RSI
    return -(-size // span) * span


def _container_bits(bits: int) -> int:
    """8, 16 or 32: imagecodecs' libaec binding reads samples of exactly their container's width."""
    return 8 if bits <= 8 else 16 if bits <= 16 else 32


def _aec_dtype(bits: int) -> type:
    return np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32


# ----------------------------------------------------------------------------------------------- FLAC


def _flac_layout(cols: int) -> int:
    """Audio channels FLAC gets for a record of ``cols`` columns (more than 8: one channel, column-major)."""
    return cols if cols <= 8 else 1


def _streaminfo(frames: int, channels: int, bits: int) -> bytes:
    """What a schema fixes: ``fLaC`` and a STREAMINFO block (frame sizes and MD5 unknown: zeros)."""
    packed = (_FLAC_RATE << 44) | ((channels - 1) << 41) | ((bits - 1) << 36) | frames
    body = struct.pack(">HH", 4096, 4096) + b"\0" * 6 + packed.to_bytes(8, "big") + b"\0" * 16
    return b"fLaC" + bytes([0x80, 0, 0, 34]) + body


def _frames_only(flac: bytes) -> bytes:
    """The audio frames of a FLAC file: every metadata block skipped."""
    pos = 4
    while True:
        head = flac[pos]
        length = int.from_bytes(flac[pos + 1 : pos + 4], "big")
        pos += 4 + length
        if head & 0x80:
            return flac[pos:]


def flac_baseline():  # noqa: ANN201 - a compressor.baselines.Baseline
    """FLAC frames from libFLAC (via ``soundfile``), 16- or 24-bit; records it cannot hold go raw."""
    import soundfile

    from compressor.baselines import Baseline

    def encode(x: np.ndarray, shape: tuple[int, ...], e: float) -> bytes:
        x = np.asarray(x, np.float32)
        cols = _columns(x, shape)
        ints = as_decimal_integers(cols)
        if ints is None or _signed_bits(ints[0]) > 24:
            return bytes([FLOAT_TAG]) + np.ascontiguousarray(x, "<f4").tobytes()
        n, p = ints
        bits = 16 if _signed_bits(n) <= 16 else 24
        channels = _flac_layout(cols.shape[1])
        audio = n if channels > 1 else n.T.reshape(-1, 1)
        buf = io.BytesIO()
        pcm = audio.astype(np.int32) << (32 - bits)  # soundfile scales int32 to the subtype's width
        soundfile.write(buf, pcm, _FLAC_RATE, format="FLAC", subtype=f"PCM_{bits}")
        return bytes([p | (0x40 if bits == 24 else 0)]) + _frames_only(buf.getvalue())

    def decode(data: bytes, shape: tuple[int, ...], e: float) -> np.ndarray:
        if data[0] == FLOAT_TAG:
            return np.frombuffer(data[1:], "<f4").astype(np.float32).reshape(shape)
        rows = shape[0]
        size = int(np.prod(shape))
        cols = size // rows
        channels = _flac_layout(cols)
        bits = 24 if data[0] & 0x40 else 16
        p = data[0] & 0x3F
        head = _streaminfo(size // channels, channels, bits)
        audio, _ = soundfile.read(io.BytesIO(head + data[1:]), dtype="int32", always_2d=True)
        n = audio.astype(np.int64) >> (32 - bits)
        n = n if channels > 1 else n.reshape(cols, rows).T
        return _from_integers(n, p).reshape(shape)

    return Baseline("flac", True, encode, decode)


# ----------------------------------------------------------------------------------------------- pcodec


def pcodec_baseline():  # noqa: ANN201 - a compressor.baselines.Baseline
    """pcodec's wrapped format: chunk metadata and one page travel, the 2-byte file header does not."""
    from pcodec import ChunkConfig, wrapped

    from compressor.baselines import Baseline

    file = wrapped.FileCompressor()
    header = file.write_header()
    reader, _ = wrapped.FileDecompressor.new(header)
    config = ChunkConfig()

    def encode(x: np.ndarray, shape: tuple[int, ...], e: float) -> bytes:
        cols = _columns(np.asarray(x, np.float32), shape)
        ints = as_decimal_integers(cols)
        if ints is None:
            tag, seq = FLOAT_TAG, np.ascontiguousarray(cols.T).reshape(-1).astype(np.float32)
        else:
            tag, seq = ints[1], np.ascontiguousarray(ints[0].T).reshape(-1).astype(np.int32)
        chunk = file.chunk_compressor(seq, config)
        return bytes([tag]) + chunk.write_meta() + chunk.write_page(0)

    def decode(data: bytes, shape: tuple[int, ...], e: float) -> np.ndarray:
        rows = shape[0]
        size = int(np.prod(shape))
        tag = data[0]
        dtype, kind = (np.float32, "f32") if tag == FLOAT_TAG else (np.int32, "i32")
        chunk, used = reader.chunk_decompressor(data[1:], kind)
        out = np.empty(size, dtype)
        chunk.read_page_into(data[1 + used :], size, out)
        cols = out.reshape(-1, rows).T
        return (cols if tag == FLOAT_TAG else _from_integers(cols, tag)).reshape(shape)

    return Baseline("pcodec", True, encode, decode)
