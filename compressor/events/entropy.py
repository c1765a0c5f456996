"""One ANS stream per coded window (constriction), written forward and read forward.

:class:`Tape` collects symbols with their models in the order the decoder reads them and encodes them in
reverse onto constriction's ANS stack; :class:`Reader` reads them back in the same order. Integer columns
(:meth:`Tape.ints`) use the error-bounded codec's frozen two-sided geometric tables
(:mod:`compressor.bounded.tables`): a flag "short blocks" (blocks of :data:`SHORT_BLOCK` values instead of
:data:`BLOCK`, for heavy-tailed columns: whichever is estimated cheaper), per block the class with the
fewest estimated bits (uniform over the classes and one more, :data:`FLAT`: the block's values are spread
evenly between its least and greatest, which are sent as a zigzag uint and a span uint, and each value is
uniform over that span, as the jitter of a clock is), then each value ``r >> shift`` with the class table, its low ``shift``
bits uniformly, and values beyond the table's radius as an escape followed by their magnitude.
"""

from __future__ import annotations

import math

import constriction
import numpy as np
import zstandard

from compressor.bounded.payload import _pop_uint, _push_uint, words_from_bytes, words_to_bytes
from compressor.bounded.tables import (
    CLASSES,
    ESCAPE,
    RADIUS,
    SHIFT,
    class_cost_coefficients,
    residual_model,
    uniform_model,
)
from compressor.errors import EnvelopeError, TruncatedError

__all__ = ["BLOCK", "FLAT", "SHORT_BLOCK", "Reader", "Tape", "categorical", "ints_cost"]

#: values per scale class in an integer column
BLOCK = 64
#: the same for a column whose scale changes quickly
SHORT_BLOCK = 16
_CLASS_BITS = 5.1
#: the class symbol of a flat block
FLAT = CLASSES
#: widest span a flat block may have
FLAT_SPAN = 1 << 12


def categorical(counts: list[int] | tuple[int, ...]) -> constriction.stream.model.Categorical:
    """A categorical model of integer counts (each at least 1)."""
    return constriction.stream.model.Categorical(
        np.maximum(np.asarray(counts, dtype=np.float64), 1.0), perfect=False
    )


def _best_classes(values: np.ndarray, size: int) -> tuple[list[int], float]:
    """Per block of ``size`` values the cheapest class, and the estimated bits of the whole column."""
    a, b, _ = class_cost_coefficients()
    out, total = [], 0.0
    for start in range(0, len(values), size):
        block = np.abs(values[start : start + size]).astype(np.float64)
        cost = len(block) * a + b * block.sum()
        k = int(np.argmin(cost))
        bits = float(cost[k])
        flat = _flat_bits(values[start : start + size])
        if flat < bits:
            k, bits = FLAT, flat
        out.append(k)
        total += bits + _CLASS_BITS
    return out, total


def _flat_bits(part: np.ndarray) -> float:
    lo, span = int(part.min()), int(part.max() - part.min())
    if span >= FLAT_SPAN:
        return float("inf")
    return _uint_bits(2 * abs(lo) + (lo < 0)) + _uint_bits(span) + len(part) * math.log2(span + 1)


def _uint_bits(u: int) -> float:
    return 6.0 + max(0, int(u).bit_length() - 1)


def _blocks(values: np.ndarray) -> tuple[int, list[int], float]:
    """The cheaper block size, its classes and the estimated bits."""
    long, long_bits = _best_classes(values, BLOCK)
    if len(values) <= SHORT_BLOCK:
        return BLOCK, long, long_bits
    short, short_bits = _best_classes(values, SHORT_BLOCK)
    return (SHORT_BLOCK, short, short_bits) if short_bits < long_bits else (BLOCK, long, long_bits)


def ints_cost(values: np.ndarray) -> float:
    """Estimated bits of :meth:`Tape.ints` for ``values`` (steers the encoder's choices only)."""
    values = np.asarray(values, dtype=np.int64)
    if values.size == 0:
        return 0.0
    return _blocks(values)[2] + 1.0


class Tape:
    """Symbols in decoding order; :meth:`finish` turns them into bytes."""

    def __init__(self) -> None:
        self._ops: list[tuple[object, object]] = []

    def symbol(self, value: int, model: object) -> None:
        self._ops.append((int(value), model))

    def symbols(self, values: np.ndarray, model: object) -> None:
        if len(values):
            self._ops.append((np.asarray(values, dtype=np.int32), model))

    def flag(self, value: bool) -> None:
        self.symbol(1 if value else 0, uniform_model(2))

    def uint(self, value: int) -> None:
        """A non-negative integer below 2**63: its bit length (uniform 0..63), then its lower bits (the
        error-bounded codec's escape coding)."""
        value = int(value)
        if value < 0 or value.bit_length() > 63:
            raise ValueError(f"cannot code {value} as a 63-bit unsigned integer")
        _push_uint(self._ops, value)

    def ints(self, values: np.ndarray, scale_class: int | None = None) -> None:
        """A column of signed integers (any size up to 62 bits), coded by blocks of scale classes (each
        block's class sent first), or all with the given ``scale_class`` (nothing sent for it)."""
        values = np.asarray(values, dtype=np.int64)
        if values.size == 0:
            return
        if scale_class is None:
            size, classes, _ = _blocks(values)
            if len(values) > SHORT_BLOCK:
                self.flag(size == SHORT_BLOCK)
            self.symbols(np.asarray(classes), uniform_model(CLASSES + 1))
        else:
            size, classes = BLOCK, [scale_class] * ((len(values) + BLOCK - 1) // BLOCK)
        escapes: list[int] = []
        for block, k in enumerate(classes):
            part = values[block * size : (block + 1) * size]
            if k == FLAT:
                lo = int(part.min())
                span = int(part.max()) - lo
                self.uint(2 * abs(lo) + (lo < 0))
                self.uint(span)
                if span:
                    self.symbols(part - lo, uniform_model(span + 1))
                continue
            s = SHIFT[k]
            high = part >> s
            idx = np.where(np.abs(high) <= RADIUS, high + RADIUS, ESCAPE)
            self.symbols(idx, residual_model(k))
            if s:
                self.symbols(part & ((1 << s) - 1), uniform_model(1 << s))
            escapes.extend(int(v) for v in high[idx == ESCAPE])
        for v in escapes:
            self.uint(2 * (abs(v) - RADIUS - 1) + (1 if v < 0 else 0))

    def extend(self, other: Tape) -> None:
        """Append what ``other`` holds (read after what this tape holds)."""
        self._ops.extend(other._ops)

    def finish(self) -> bytes:
        coder = constriction.stream.stack.AnsCoder()
        for value, model in reversed(self._ops):
            coder.encode_reverse(value, model)
        return words_to_bytes(coder.get_compressed())


class Reader:
    """Reads what a :class:`Tape` wrote, in the same order.

    Parameters:
        data (bytes): the stream :meth:`Tape.finish` returned.
    """

    def __init__(self, data: bytes) -> None:
        self._coder = constriction.stream.stack.AnsCoder(words_from_bytes(data))

    def symbol(self, model: object) -> int:
        return int(self._coder.decode(model))

    def symbols(self, n: int, model: object) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self._coder.decode(model, n), dtype=np.int64)

    def flag(self) -> bool:
        return self.symbol(uniform_model(2)) == 1

    def uint(self) -> int:
        return _pop_uint(self._coder)

    def ints(self, n: int, scale_class: int | None = None) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        size = SHORT_BLOCK if scale_class is None and n > SHORT_BLOCK and self.flag() else BLOCK
        blocks = (n + size - 1) // size
        if scale_class is None:
            classes = self.symbols(blocks, uniform_model(CLASSES + 1)).tolist()
        else:
            classes = [scale_class] * blocks
        out = np.empty(n, dtype=np.int64)
        escaped: list[int] = []
        for block, k in enumerate(classes):
            start = block * size
            count = min(size, n - start)
            if k == FLAT:
                z = self.uint()
                lo, span = (-(z >> 1) if z & 1 else z >> 1), self.uint()
                if span >= FLAT_SPAN:
                    raise EnvelopeError("event payload holds a flat block wider than allowed")
                out[start : start + count] = lo + (
                    self.symbols(count, uniform_model(span + 1)) if span else 0
                )
                continue
            idx = self.symbols(count, residual_model(k))
            s = SHIFT[k]
            part = (idx - RADIUS) << s
            if s:
                part |= self.symbols(count, uniform_model(1 << s))
            out[start : start + count] = part
            escaped.extend((start + int(i)) for i in np.flatnonzero(idx == ESCAPE))
        for at in escaped:
            m = self.uint()
            mag = (m >> 1) + RADIUS + 1
            high = -mag if m & 1 else mag
            s = SHIFT[classes[at // size]]
            out[at] = (high << s) | (int(out[at]) & ((1 << s) - 1))
        return out

    def check_done(self) -> None:
        if not self._coder.is_empty():
            raise TruncatedError("event payload has data left after its last symbol (corrupt or truncated)")


def decode_errors() -> tuple[type[BaseException], ...]:
    """What a corrupt stream can raise inside constriction and numpy (translated to EnvelopeError)."""
    return (
        ValueError,
        OverflowError,
        RuntimeError,
        TypeError,
        IndexError,
        KeyError,
        zstandard.ZstdError,
        EnvelopeError,
    )
