"""Records <-> rANS streams under a :class:`~compressor.learned.model.LearnedModel`, a batch per call (or one
stream, for a per-record deserializer).

A stream is the final rANS state (4 bytes, little endian) followed by the 16-bit words in reading order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from compressor.learned import kernel
from compressor.learned.model import LearnedModel

__all__ = ["decode_stream", "decode_streams", "encode_streams"]


def encode_streams(model: LearnedModel, q: np.ndarray, steps: np.ndarray) -> list[bytes]:
    """One stream per record of grid integers ``q`` (N, rows, cols) on a grid of ``steps`` (cols,)."""
    n = q.shape[0]
    if n == 0:
        return []
    p = model.params(steps)
    freq, cum = model.freq_tables()
    thresholds = model.classes[0]
    shifts = model.table_layout[0]
    r, k = kernel.coded(np.ascontiguousarray(q, np.int64), p.predictor_args(), thresholds)
    words, lengths, states = kernel.encode_batch(r.reshape(n, -1), k.reshape(n, -1), shifts, freq, cum)
    head = states.astype("<u4")
    body = words.astype("<u2", copy=False)
    return [head[i].tobytes() + body[i, : lengths[i]].tobytes() for i in range(n)]


def decode_streams(
    model: LearnedModel, streams: Sequence[bytes], steps: np.ndarray, layout: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Grid integers (N, rows, cols) of ``streams`` and per stream whether it decoded consistently (a
    truncated, padded or corrupted stream fails this check or its bound check downstream)."""
    rows, cols = layout
    n = len(streams)
    if n == 0:
        return np.zeros((0, rows, cols), np.int64), np.zeros(0, bool)
    p = model.params(steps)
    freq, cum = model.freq_tables()
    ok_shape = np.array([len(s) >= 4 and len(s) % 2 == 0 for s in streams])
    states = np.array(
        [int.from_bytes(s[:4], "little") if good else 0 for s, good in zip(streams, ok_shape, strict=True)],
        np.int64,
    )
    bodies = [s[4:] if good else b"" for s, good in zip(streams, ok_shape, strict=True)]
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) // 2 for b in bodies])
    words = np.frombuffer(b"".join(bodies) + b"\0\0", "<u2").astype(np.uint16)
    thresholds = model.classes[0]
    shifts = model.table_layout[0]
    q, ok = kernel.decode_batch(
        words, offsets, states, rows, cols, p.predictor_args(), thresholds, shifts, freq, cum
    )
    return q, ok & ok_shape


def decode_stream(
    model: LearnedModel, stream: bytes, steps: np.ndarray, layout: tuple[int, int]
) -> np.ndarray | None:
    """:func:`decode_streams` of one stream, without the batch bookkeeping (a per-record deserializer's
    path): its grid integers (rows, cols), or None where it does not decode consistently."""
    if len(stream) < 4 or len(stream) % 2:
        return None
    p = model.params(steps)
    freq, cum = model.freq_tables()
    words = np.frombuffer(stream[4:] + b"\0\0", "<u2").astype(np.uint16)
    offsets = np.array([0, len(words) - 1], np.int64)
    states = np.array([int.from_bytes(stream[:4], "little")], np.int64)
    q, ok = kernel.decode_batch(
        words, offsets, states, *layout, p.predictor_args(), model.classes[0], model.table_layout[0],
        freq, cum,
    )  # fmt: skip
    return q[0] if ok[0] else None
