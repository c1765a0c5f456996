"""Byte layout of one error-bounded record (envelope kind 1): a single ANS stream.

Symbols are decoded in this order (the encoder pushes them in reverse onto constriction's ANS stack)::

    bound           categorical over the bundle's preset bounds + "other"; "other" is followed by the
                    16-bit code (uniform): E = (256 + low byte) * 2**(high byte - 135)
    mode            categorical                           slot * 2 + has_raw; slot = predictor index, or
                                                          (kind 2 only) predictors + simple predictor
                                                          index for the fitted-table coding
    [latent codes]  one categorical per latent dimension  only for autoencoder predictors
    then either, with scale classes:
    first classes   one per column, against the expected class of that column
    class changes   (blocks - 1) per column, against the previous block's class
    residuals       for each class k present, ascending: the values r >> shift[k] (escape = 1023) in scan
                    order, then their low shift[k] bits uniformly
    or, with a fitted table (kind 2):
    residuals       every value r + 511 in scan order (escape = 1023) with the bundle's table
    escapes         for each escaped residual, in the order above: Elias-gamma-like length + bits
    raw values      if has_raw: count - 1, then per value its position and its float32 bits

The compressed words are written little-endian; trailing zero bytes of the last word are dropped
(at most three; the decoder pads back to a whole word).
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass

import constriction
import numpy as np

from compressor.bounded.context import BLOCK
from compressor.bounded.tables import (
    CLASSES,
    ESCAPE,
    RADIUS,
    SHIFT,
    class_delta_model,
    first_class_model,
    residual_model,
    uniform_model,
)
from compressor.errors import EnvelopeError, TruncatedError

__all__ = ["Decoded", "Prepared", "decode_record", "encode_prepared", "words_from_bytes", "words_to_bytes"]

_LITTLE = sys.byteorder == "little"


def words_to_bytes(words: np.ndarray) -> bytes:
    w = words.astype("<u4", copy=False)
    data = w.tobytes()
    strip = 0
    while strip < 3 and len(data) - strip > 0 and data[len(data) - 1 - strip] == 0:
        strip += 1
    return data[: len(data) - strip]


def words_from_bytes(data: bytes) -> np.ndarray:
    pad = (-len(data)) % 4
    return np.frombuffer(data + b"\0" * pad, dtype="<u4").astype(np.uint32)


def _push_uint(ops: list, value: int) -> None:
    """Elias-gamma-like: bit length (uniform 0..63), then the bits under the top one in 16-bit chunks."""
    value = int(value)
    n = value.bit_length()
    ops.append((n, uniform_model(64)))
    rest, bits = value ^ (1 << (n - 1)) if n else 0, max(n - 1, 0)
    while bits > 0:
        take = min(bits, 16)
        bits -= take
        ops.append(
            ((rest >> bits) & ((1 << take) - 1), uniform_model(1 << take) if take > 1 else uniform_model(2))
        )


def _pop_uint(coder: constriction.stream.stack.AnsCoder) -> int:
    n = int(coder.decode(uniform_model(64)))
    if n == 0:
        return 0
    value, bits = 1, n - 1
    while bits > 0:
        take = min(bits, 16)
        bits -= take
        value = (value << take) | int(
            coder.decode(uniform_model(1 << take) if take > 1 else uniform_model(2))
        )
    return value


def _zigzag_escape(v: int) -> int:
    """Escaped residuals have |v| > RADIUS: map them onto 0, 1, 2, ..."""
    return 2 * (abs(v) - RADIUS - 1) + (1 if v < 0 else 0)


def _unzigzag_escape(m: int) -> int:
    mag = (m >> 1) + RADIUS + 1
    return -mag if m & 1 else mag


@dataclass
class Prepared:
    """One record's symbols, grouped the way the stream holds them (the batch encoder builds these).

    Arguments:
        bound_code (int): the 16-bit code of the record's error bound.
        mode (int): ``slot * 2 + has_raw``, see the layout above.
        first (np.ndarray): ``(cols,)`` int32 first-class symbols.
        steps (np.ndarray): ``(cols * (blocks - 1),)`` int32 class-change symbols.
        groups (list): ``[(class k, symbol indices int32, low bits int32 or None)]``, k ascending.
        escapes (list[int]): escaped high parts, in stream order.
        latent (np.ndarray | None): latent codes (autoencoder predictors). Default: None.
        raw_positions (np.ndarray | None): positions of values stored raw. Default: None, none.
        raw_bits (np.ndarray | None): their float32 bits as uint32. Default: None.
        table (Categorical | None): the fitted table coding every residual (``groups`` then holds one
            group of all symbols). Default: None, scale classes.
    """

    bound_code: int
    mode: int
    first: np.ndarray  # (cols,) int32 first-class symbols
    steps: np.ndarray  # (cols * (nb - 1),) int32 class-change symbols
    groups: list  # [(class k, symbol indices int32, low bits int32 or None)], k ascending
    escapes: list[int]  # escaped high parts, in stream order
    latent: np.ndarray | None = None
    raw_positions: np.ndarray | None = None
    raw_bits: np.ndarray | None = None
    #: the fitted table coding every residual (groups then holds one group of all symbols), or None
    table: constriction.stream.model.Categorical | None = None


def encode_prepared(  # noqa: ANN001
    rec: Prepared, size: int, mode_model, presets: tuple[int, ...] = (), latent_models=None
) -> bytes:
    """One record's stream as bytes (``size`` = values per record)."""
    coder = constriction.stream.stack.AnsCoder()
    enc = coder.encode_reverse
    if rec.raw_positions is not None:
        ops: list = []
        _push_uint(ops, len(rec.raw_positions) - 1)
        if size > 1:
            ops.append((rec.raw_positions.astype(np.int32), uniform_model(size)))
        bits = np.asarray(rec.raw_bits, dtype=np.uint32)
        ops.append(((bits >> 16).astype(np.int32), uniform_model(1 << 16)))
        ops.append(((bits & 0xFFFF).astype(np.int32), uniform_model(1 << 16)))
        for sym, model in reversed(ops):
            enc(sym, model)
    if rec.escapes:
        ops = []
        for v in rec.escapes:
            _push_uint(ops, _zigzag_escape(v))
        for sym, model in reversed(ops):
            enc(sym, model)
    if rec.table is not None:
        enc(rec.groups[0][1], rec.table)
    else:
        for k, idx, lo in reversed(rec.groups):
            if lo is not None:
                enc(lo, uniform_model(1 << SHIFT[k]))
            enc(idx, residual_model(k))
        if len(rec.steps):
            enc(rec.steps, class_delta_model())
        enc(rec.first, first_class_model())
    if rec.latent is not None:
        for j in range(len(rec.latent) - 1, -1, -1):
            enc(int(rec.latent[j]), latent_models[j])
    enc(rec.mode, mode_model)
    if rec.bound_code in presets:
        enc(1 + presets.index(rec.bound_code), bound_model(len(presets)))
    else:
        enc(rec.bound_code, uniform_model(1 << 16))
        enc(0, bound_model(len(presets)))
    return words_to_bytes(coder.get_compressed())


@functools.cache
def bound_model(presets: int) -> constriction.stream.model.Categorical:
    """The bound's first symbol: 0 = a 16-bit code follows, ``1 + i`` = the bundle's preset bound ``i``."""
    return constriction.stream.model.Categorical(
        np.ones(max(presets + 1, 2), dtype=np.float64), perfect=False
    )


def read_bound(coder: constriction.stream.stack.AnsCoder, presets: tuple[int, ...]) -> int:
    """Decode the bound code at the start of a stream."""
    first = int(coder.decode(bound_model(len(presets))))
    if first == 0:
        return int(coder.decode(uniform_model(1 << 16)))
    if first > len(presets):
        raise EnvelopeError(f"bounded payload names preset bound {first - 1}; the model has {len(presets)}")
    return presets[first - 1]


@dataclass
class Decoded:
    """One record's symbols as read from its stream.

    Arguments:
        bound_code (int): the 16-bit code of the record's error bound.
        mode (int): ``slot * 2 + has_raw``, see the layout above.
        latent (np.ndarray | None): latent codes (autoencoder predictors), else None.
        residuals (np.ndarray): the residuals, in scan order.
        raw_positions (np.ndarray): positions of values stored raw.
        raw_bits (np.ndarray): their float32 bits as uint32.
    """

    bound_code: int
    mode: int
    latent: np.ndarray | None
    residuals: np.ndarray  # scan order
    raw_positions: np.ndarray
    raw_bits: np.ndarray


def decode_record(  # noqa: ANN001
    data: bytes,
    rows: int,
    cols: int,
    nb: int,
    kexp_of,
    latent_models_of,
    mode_count: int,
    mode_model,
    presets: tuple[int, ...] = (),
    table_of=None,
) -> Decoded:
    """Inverse of :func:`encode_prepared`. ``kexp_of(code, mode)``, ``latent_models_of(mode)`` and
    ``table_of(code, mode)`` (the fitted table of a table-coded mode, else None) supply what depends on the
    header. Raises :class:`EnvelopeError` on a stream that does not decode."""
    try:
        coder = constriction.stream.stack.AnsCoder(words_from_bytes(data))
        code = read_bound(coder, presets)
        mode = int(coder.decode(mode_model))
        if mode >= mode_count:
            raise EnvelopeError(f"bounded payload names mode {mode}, this model knows {mode_count}")
        latent_models = latent_models_of(mode)
        latent = None
        if latent_models:
            latent = np.asarray([int(coder.decode(m)) for m in latent_models], dtype=np.int64)
        table = table_of(code, mode) if table_of is not None else None
        if table is not None:
            r = _decode_table(coder, table, rows * cols)
        else:
            r = _decode_classes(coder, rows, cols, nb, kexp_of(code, mode))
        raw_pos = np.zeros(0, np.int64)
        raw_bits = np.zeros(0, np.uint32)
        if mode & 1:
            n = _pop_uint(coder) + 1
            d = rows * cols
            if n > d:
                raise EnvelopeError(f"bounded payload declares {n} raw values in a record of {d}")
            raw_pos = coder.decode(uniform_model(d), n).astype(np.int64) if d > 1 else np.zeros(n, np.int64)
            hi16 = coder.decode(uniform_model(1 << 16), n).astype(np.uint32)
            lo16 = coder.decode(uniform_model(1 << 16), n).astype(np.uint32)
            raw_bits = (hi16 << np.uint32(16)) | lo16
    except EnvelopeError:
        raise
    except (ValueError, OverflowError, RuntimeError, TypeError) as exc:
        raise EnvelopeError(f"bounded payload does not decode: {exc}") from exc
    if not coder.is_empty():
        raise TruncatedError("bounded payload has data left after its last symbol (corrupt or truncated)")
    return Decoded(code, mode, latent, r, raw_pos, raw_bits)


def _decode_table(coder, table, size: int) -> np.ndarray:  # noqa: ANN001
    """Residuals in scan order coded with one fitted table, escapes after them."""
    idx = coder.decode(table, size).astype(np.int64)
    r = idx - RADIUS
    for e in np.flatnonzero(idx == ESCAPE).tolist():
        r[e] = _unzigzag_escape(_pop_uint(coder))
    return r


def _decode_classes(coder, rows: int, cols: int, nb: int, kexp: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """Residuals in scan order coded with per-block scale classes."""
    first = coder.decode(first_class_model(), cols).astype(np.int64) - (CLASSES - 1) + kexp
    if nb > 1:
        steps = coder.decode(class_delta_model(), cols * (nb - 1)).astype(np.int64) - (CLASSES - 1)
        classes = np.empty((cols, nb), dtype=np.int64)
        classes[:, 0] = first
        classes[:, 1:] = first[:, None] + np.cumsum(steps.reshape(cols, nb - 1), axis=1)
    else:
        classes = first.reshape(cols, 1)
    flat = classes.ravel()  # block classes in scan order (column-major, nb blocks per column)
    if flat.min() < 0 or flat.max() >= CLASSES:
        raise EnvelopeError("bounded payload holds an invalid scale class")
    # the blocks grouped by class, ascending, each group in scan order: how the stream holds the values
    order = np.argsort(flat, kind="stable")
    present, first_at = np.unique(flat[order], return_index=True)
    sizes, positions = _block_layout(rows, cols, nb)
    counts = np.add.reduceat(sizes[order], first_at).tolist()
    symbols: list[tuple[np.ndarray, np.ndarray, int]] = []  # (table symbols, values, shift) per class
    for k, n in zip(present.tolist(), counts, strict=True):
        idx = coder.decode(residual_model(k), n).astype(np.int64)
        s = SHIFT[k]
        if s:
            lo = coder.decode(uniform_model(1 << s), n).astype(np.int64)
            vals = ((idx - RADIUS) << s) | lo
        else:
            vals = idx - RADIUS
        symbols.append((idx, vals, s))
    # escapes are rare: one look over all classes' symbols, then (if any) the escaped values in order
    if (symbols[0][0] if len(symbols) == 1 else np.concatenate([i for i, _, _ in symbols])).max() == ESCAPE:
        escaped = [
            (vals, e, s, int(vals[e]) & ((1 << s) - 1))
            for idx, vals, s in symbols
            for e in np.flatnonzero(idx == ESCAPE).tolist()
        ]
        for vals, e, s, low in escaped:
            vals[e] = (_unzigzag_escape(_pop_uint(coder)) << s) | low
    if len(symbols) == 1:
        return symbols[0][1]
    scan = positions[order].ravel()
    r = np.empty(rows * cols, dtype=np.int64)
    r[scan[scan >= 0]] = np.concatenate([vals for _, vals, _ in symbols])
    return r


@functools.lru_cache(maxsize=64)
def _block_layout(rows: int, cols: int, nb: int) -> tuple[np.ndarray, np.ndarray]:
    """Per block of a record in scan order (column-major, ``nb`` blocks per column): its length, and the
    scan positions of its values, padded with -1 to :data:`BLOCK` (read-only, shared by every record)."""
    last = rows - (nb - 1) * BLOCK
    b = np.arange(cols * nb)
    sizes = np.where(b % nb == nb - 1, last, BLOCK)
    within = np.arange(BLOCK)[None, :]
    positions = np.where(within < sizes[:, None], ((b // nb) * rows + (b % nb) * BLOCK)[:, None] + within, -1)
    sizes.setflags(write=False)
    positions.setflags(write=False)
    return sizes, positions
