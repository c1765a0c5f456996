"""Records <-> rANS streams under a :class:`~compressor.learned.model.LearnedModel`, a batch per call (or one
stream, for a per-record deserializer).

A stream is the final rANS state followed by the 16-bit words in reading order, little endian. Model
versions 1 and 2 (kinds 3 and 6) start the encoder at ``L`` and write the state in 4 bytes. Version 3
(kind 8) starts it at 1 and writes it in as few bytes as the stream's length tells apart: a stream of at
most 4 bytes is the state alone (no words: the state never passed ``L``), a longer one starts with a state
of 3 bytes when its length is odd and of 4 when it is even.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from compressor.learned import kernel
from compressor.learned.model import LearnedModel

__all__ = ["decode_stream", "decode_streams", "encode_streams", "split_stream"]

#: the longest stream that is a state alone (version 3)
_STATE_ONLY = 4


def _start(model: LearnedModel) -> int:
    """The encoder's first state (the decoder's last): ``L`` before version 3, 1 from it (not 0: a decoder
    at state 0 stays there, so a truncated stream could end at 0 as if consistent)."""
    return 1 if model.version >= 3 else kernel.L


def _state_bytes(model: LearnedModel, state: int, words: int) -> bytes:
    """The head of a stream holding ``state`` and followed by ``words`` 16-bit words."""
    if model.version < 3:
        return state.to_bytes(4, "little")
    if words == 0:
        return state.to_bytes((state.bit_length() + 7) // 8, "little")
    return state.to_bytes(3 if state < 1 << 24 else 4, "little")


def split_stream(model: LearnedModel, stream: bytes) -> tuple[int, bytes] | None:
    """``(state, words)`` of a stream of ``model`` (the words as bytes), or None where its length is not
    one the encoder writes."""
    if model.version < 3:
        if len(stream) < 4 or len(stream) % 2:
            return None
        head = 4
    elif len(stream) <= _STATE_ONLY:
        head = len(stream)
    else:
        head = 3 if len(stream) % 2 else 4
    return int.from_bytes(stream[:head], "little"), stream[head:]


def encode_streams(model: LearnedModel, q: np.ndarray, steps: np.ndarray) -> list[bytes]:
    """One stream per record of grid integers ``q`` (N, rows, cols) on a grid of ``steps`` (cols,)."""
    n = q.shape[0]
    if n == 0:
        return []
    p = model.params(steps)
    freq, cum = model.freq_tables()
    tmap, shifts = model.stored()
    r, k = kernel.coded(np.ascontiguousarray(q, np.int64), p.predictor_args(), model.classes[0])
    words, lengths, states = kernel.encode_batch(
        r.reshape(n, -1), tmap[k.reshape(n, -1)], shifts, freq, cum, _start(model)
    )
    body = words.astype("<u2", copy=False)
    return [
        _state_bytes(model, int(states[i]), int(lengths[i])) + body[i, : lengths[i]].tobytes()
        for i in range(n)
    ]


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
    split = [split_stream(model, s) for s in streams]
    ok_shape = np.array([s is not None for s in split])
    states = np.array([s[0] if s is not None else 0 for s in split], np.int64)
    bodies = [s[1] if s is not None else b"" for s in split]
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) // 2 for b in bodies])
    words = np.frombuffer(b"".join(bodies) + b"\0\0", "<u2").astype(np.uint16)
    tmap, shifts = model.stored()
    q, ok = kernel.decode_batch(
        words, offsets, states, rows, cols, p.predictor_args(), model.classes[0], tmap, shifts, freq, cum,
        _start(model),
    )  # fmt: skip
    return q, ok & ok_shape


def decode_stream(
    model: LearnedModel, stream: bytes, steps: np.ndarray, layout: tuple[int, int]
) -> np.ndarray | None:
    """:func:`decode_streams` of one stream, without the batch bookkeeping (a per-record deserializer's
    path): its grid integers (rows, cols), or None where it does not decode consistently."""
    split = split_stream(model, stream)
    if split is None:
        return None
    state, body = split
    p = model.params(steps)
    freq, cum = model.freq_tables()
    words = np.frombuffer(body + b"\0\0", "<u2").astype(np.uint16)
    offsets = np.array([0, len(words) - 1], np.int64)
    states = np.array([state], np.int64)
    q, ok = kernel.decode_batch(
        words, offsets, states, *layout, p.predictor_args(), model.classes[0], *model.stored(), freq, cum,
        _start(model),
    )  # fmt: skip
    return q[0] if ok[0] else None
