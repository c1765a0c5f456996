"""Per-record baseline codecs the evaluation compares latentwire with, behind one interface.

Each baseline compresses every record on its own, as it would travel as one Kafka record, and the
compressed size counts everything a receiver needs besides the shape (which a schema would carry):

* ``zstd``: lossless zstandard, level 3 (what Kafka's ``compression_type=zstd`` applies to raw floats)
* ``zfp``: ``zfpy`` fixed-accuracy mode; the tolerance is lowered until the max error is within the bound
* ``sz3``: ``pysz`` (SZ3) with an absolute error bound
* ``lorenzo-ans``: previous-value prediction, residual quantized in bins of 2E, coded with constriction's
  ANS under a quantized Laplace model whose scale is sent per record; the first value of each channel and
  the scale go raw (4 bytes each), escapes for residuals outside the model's range go raw too

* ``libaec``, ``flac``, ``pcodec``: the lossless anchors of :mod:`compressor.lossless_baselines` (CCSDS
  121.0 adaptive Rice, FLAC frames, pcodec), coding the record's integers where it is a decimal lattice

``zfp``, ``sz3`` and the lossless anchors need the optional ``baselines`` extra; :func:`available_baselines` leaves out what is
not installed and says why.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from compressor.lossless_baselines import aec_baseline, flac_baseline, pcodec_baseline

__all__ = ["BASELINES", "Baseline", "available_baselines", "missing_baselines"]


@dataclass(frozen=True)
class Baseline:
    """A general-purpose compressor the evaluation compares latentwire with, one record at a time.

    Arguments:
        name (str): its name in reports, e.g. ``"zstd"``.
        lossless (bool): whether it ignores the error bound and restores records exactly.
        encode (Callable): ``encode(record, shape, E) -> bytes``, with ``E`` the absolute error bound.
        decode (Callable): ``decode(bytes, shape, E) -> record``.
    """

    name: str
    lossless: bool
    encode: Callable[[np.ndarray, tuple[int, ...], float], bytes]
    decode: Callable[[bytes, tuple[int, ...], float], np.ndarray]


# ----------------------------------------------------------------------------------------------- zstd


def _zstd() -> Baseline:
    import zstandard

    comp = zstandard.ZstdCompressor(level=3)
    dec = zstandard.ZstdDecompressor()

    def encode(x: np.ndarray, shape: tuple[int, ...], e: float) -> bytes:
        return comp.compress(np.ascontiguousarray(x, dtype="<f4").tobytes())

    def decode(data: bytes, shape: tuple[int, ...], e: float) -> np.ndarray:
        return np.frombuffer(dec.decompress(data), dtype="<f4").astype(np.float32).reshape(shape)

    return Baseline("zstd", True, encode, decode)


# ----------------------------------------------------------------------------------------------- zfp


def _zfp() -> Baseline:
    import zfpy

    def encode(x: np.ndarray, shape: tuple[int, ...], e: float) -> bytes:
        arr = np.ascontiguousarray(np.asarray(x, np.float32).reshape(shape))
        tol = e
        for _ in range(40):
            data = zfpy.compress_numpy(arr, tolerance=tol)
            out = zfpy.decompress_numpy(data)
            with np.errstate(invalid="ignore"):
                err = np.abs(out.astype(np.float64) - arr.astype(np.float64))
            if np.all(err[np.isfinite(arr)] <= e):
                return data
            tol /= 2
        return zfpy.compress_numpy(arr)  # lossless-ish fallback (reversible mode)

    def decode(data: bytes, shape: tuple[int, ...], e: float) -> np.ndarray:
        return zfpy.decompress_numpy(data).astype(np.float32).reshape(shape)

    return Baseline("zfp", False, encode, decode)


# ----------------------------------------------------------------------------------------------- sz3


def _sz3() -> Baseline:
    from pysz import sz, szConfig, szErrorBoundMode

    def encode(x: np.ndarray, shape: tuple[int, ...], e: float) -> bytes:
        arr = np.ascontiguousarray(np.asarray(x, np.float32).reshape(shape))
        cfg = szConfig()
        cfg.errorBoundMode = szErrorBoundMode.ABS
        cfg.absErrorBound = float(e)
        data, _ = sz.compress(arr, cfg)
        return np.asarray(data, dtype=np.uint8).tobytes()

    def decode(data: bytes, shape: tuple[int, ...], e: float) -> np.ndarray:
        out, _ = sz.decompress(np.frombuffer(data, dtype=np.uint8), np.float32, shape)
        return np.asarray(out, dtype=np.float32).reshape(shape)

    return Baseline("sz3", False, encode, decode)


# ----------------------------------------------------------------------------------------------- lorenzo-ans

_LZ_RADIUS = 1 << 15


def _lorenzo_ans() -> Baseline:
    import constriction

    family = constriction.stream.model.QuantizedLaplace(-_LZ_RADIUS, _LZ_RADIUS)
    uni16 = constriction.stream.model.Uniform(1 << 16)

    def encode(x: np.ndarray, shape: tuple[int, ...], e: float) -> bytes:
        arr = np.asarray(x, np.float32).reshape(shape[0], -1)  # rows x channels
        rows, cols = arr.shape
        x64 = arr.astype(np.float64)
        step = 2.0 * e
        with np.errstate(invalid="ignore", over="ignore"):
            q = np.rint(x64 / step)
        rebuilt = (q * step).astype(np.float32).astype(np.float64)
        ok = np.isfinite(q) & (np.abs(q) < 2**40) & (np.abs(rebuilt - x64) <= e)
        if not ok.all():  # outside what the baseline models: send the record raw
            return b"\x01" + np.ascontiguousarray(arr, "<f4").tobytes()
        q = q.astype(np.int64)
        r = np.diff(q, axis=0)  # first row goes raw
        flat = r.T.ravel()
        scale = float(np.float32(max(float(np.mean(np.abs(flat))) if flat.size else 1.0, 0.1)))
        esc = np.abs(flat) >= _LZ_RADIUS
        sym = np.where(esc, _LZ_RADIUS, flat).astype(np.int32)
        coder = constriction.stream.stack.AnsCoder()
        for v in flat[esc][::-1].tolist():  # escapes as raw 32-bit values after the residuals
            coder.encode_reverse(int(v) & 0xFFFF, uni16)
            coder.encode_reverse((int(v) >> 16) & 0xFFFF, uni16)
        if sym.size:
            coder.encode_reverse(
                sym, family, np.zeros(sym.size, np.float64), np.full(sym.size, scale, np.float64)
            )
        head = struct.pack("<f", scale) + q[0].astype("<i4").tobytes()
        return b"\x00" + head + coder.get_compressed().astype("<u4").tobytes()

    def decode(data: bytes, shape: tuple[int, ...], e: float) -> np.ndarray:
        rows = shape[0]
        cols = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        if data[0] == 1:
            return np.frombuffer(data[1:], "<f4").astype(np.float32).reshape(shape)
        (scale,) = struct.unpack_from("<f", data, 1)
        first = np.frombuffer(data, "<i4", cols, 5).astype(np.int64)
        words = np.frombuffer(data[5 + 4 * cols :], "<u4").astype(np.uint32)
        coder = constriction.stream.stack.AnsCoder(words)
        n = (rows - 1) * cols
        flat = np.zeros(0, np.int64)
        if n:
            flat = coder.decode(family, np.zeros(n, np.float64), np.full(n, scale, np.float64)).astype(
                np.int64
            )
            for i in np.flatnonzero(flat == _LZ_RADIUS).tolist():
                hi = int(coder.decode(uni16))
                lo = int(coder.decode(uni16))
                v = (hi << 16) | lo
                flat[i] = v - (1 << 32) if v >= 1 << 31 else v
        r = flat.reshape(cols, rows - 1).T
        q = np.vstack([first[None, :], first[None, :] + np.cumsum(r, axis=0)])
        return (q.astype(np.float64) * (2.0 * e)).astype(np.float32).reshape(shape)

    return Baseline("lorenzo-ans", False, encode, decode)


BASELINES: dict[str, Callable[[], Baseline]] = {
    "zstd": _zstd,
    "zfp": _zfp,
    "sz3": _sz3,
    "lorenzo-ans": _lorenzo_ans,
    "libaec": aec_baseline,
    "flac": flac_baseline,
    "pcodec": pcodec_baseline,
}


def available_baselines(names: list[str] | None = None) -> dict[str, Baseline]:
    """The baselines whose packages are installed (all by default)."""
    out = {}
    for name in names or list(BASELINES):
        try:
            out[name] = BASELINES[name]()
        except ImportError:
            continue
    return out


def missing_baselines(names: list[str] | None = None) -> dict[str, str]:
    """Baselines that cannot run, with the reason (a missing optional package)."""
    out = {}
    for name in names or list(BASELINES):
        try:
            BASELINES[name]()
        except ImportError as exc:
            out[name] = f"{exc.name or exc} is not installed (pip install 'latentwire[baselines]')"
    return out
