"""Kind-3, kind-6, kind-8, kind-9, kind-10 and kind-11 records (a version-1, 2 or 3 learned model; one payload layout):
error-bounded records coded with the learned model, on the grid of the bounded codec.

Payload (after the envelope header)::

    offset  size  field
    0       1     bit 7: the data's lattice (else the plain grid of step 2E); bits 0-6: index of the bound in
                  the codec's preset bounds, or 127: the 16-bit bound code follows
    (1      2     bound code, big endian, only with index 127)
    ...     4     final rANS state, little endian (kind 8: 0 to 4 bytes, see compressor.learned.coder)
    ...     2k    the stream's 16-bit words, little endian, in reading order

A kind-9 record is a kind-8 one at the model's lossless bound (:meth:`~compressor.error_bound.ErrorBound.
lossless`) on the data's lattice, without the header: the decoder knows that bound and grid from the bundle.
A kind-10 record (wire version 7) is a kind-9 one where the bundle has a fine lattice at that bound
(:mod:`compressor.bounded.fine_lattice`): the model codes each value's count instead of its grid integer, on
the grid of one count per step (``steps(code, FINE)``), and the decoder turns the counts back into grid
integers. Where the fine lattice applies, records with a value off it are not coded by the learned model.
A kind-11 record (wire version 9) is a kind-8 one, header included, whose columns with a fine lattice coarser
than the record's grid go as counts (:mod:`compressor.learned.counted`).

The grid (step per column, the training center) is the bounded codec's (:mod:`compressor.bounded.grid`), so
a value decodes as ``float32(q * step)`` exactly as in kinds 1 and 2, and the bound holds by the same
argument. Records with a value off the grid (NaN, Inf, beyond the grid's range) are never coded as kind 3.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from compressor.bounded import fine_lattice, grid
from compressor.bounded.record_kernel import quantize_one
from compressor.envelope import Kind
from compressor.errors import EnvelopeError
from compressor.learned.choice import ClassicalTrials
from compressor.learned.coder import decode_stream, decode_streams, encode_streams
from compressor.learned.counted import COUNTED, CountedGrid, base_of, counted_grid
from compressor.learned.model import LearnedModel

if TYPE_CHECKING:
    from compressor.error_bound import ErrorBound

__all__ = ["LearnedRecords"]

_EXPLICIT = 0x7F
_LATTICE = 0x80
#: the envelope kind of each model version's records
_KINDS = {1: Kind.LEARNED, 2: Kind.LEARNED2, 3: Kind.LEARNED3, 4: Kind.LEARNED3}


class LearnedRecords:
    """Kind-3 coding next to one bounded codec.

    Arguments:
        model (LearnedModel): the trained model.
        bounded (Any): the :class:`~compressor.bounded.codec.BoundedCodec` whose grids and preset bounds
            kind-3 records share.
        lossless (ErrorBound | None): the bundle's lossless bound (``ErrorBound.lossless_if_any``), None
            where the data has no quantum: a version-3 model writes its records at that bound (its code) on
            the data's lattice as kind 9, without a header. Default: None, no kind 9.
    """

    def __init__(self, model: LearnedModel, bounded: Any, lossless: ErrorBound | None = None) -> None:
        self.model = model
        self.encoder = bounded.encoder
        self.params = bounded.params
        self.layout = (self.params.rows, self.params.cols)
        #: the envelope kind of its records: 3 for a version-1 model, 6 for version 2, 8 for versions 3 and 4
        self.kind = _KINDS[model.version]
        #: the bound code kind-9 records stand for, where this model writes and reads them (else None)
        self.lossless = lossless.code if lossless is not None and model.version >= 3 else None
        #: the encoder's measure of where the classical coder still pays (steers effort only)
        self.trials = ClassicalTrials()
        self._counted: dict[tuple[int, int], CountedGrid] = {}
        self._written: dict[int, CountedGrid | None] = {}

    def lattice_for(self, code: int) -> bool:
        """Whether kind-3 records of bound ``code`` go on the data's lattice (where it is no finer than 2E
        in any column), else on the plain grid."""
        return self.encoder.grid_policy(code) == "lattice"

    def kind_at(self, code: int) -> Kind:
        """The envelope kind of this model's records at bound ``code``: :attr:`kind`, or kind 9 at the
        lossless bound where those records go on the data's lattice."""
        if code == self.lossless and self.lattice_for(code):
            return Kind.LEARNED3_COUNTS if self.params.uses_fine(code) else Kind.LEARNED3_LOSSLESS
        if self._counted_at(code) is not None:
            return Kind.LEARNED3_COUNTED
        return self.kind

    def _grid_at(self, code: int) -> int:
        """The grid this model's records at bound ``code`` are coded on: the fine lattice's counts (kind 10),
        counts where coarser over the lattice or the plain grid (kind 11), the data's lattice or the plain
        grid."""
        kind = self.kind_at(code)
        if kind == Kind.LEARNED3_COUNTS:
            return grid.FINE
        base = grid.LATTICE if self.lattice_for(code) else grid.PLAIN
        return COUNTED[base] if kind == Kind.LEARNED3_COUNTED else base

    def _counted_at(self, code: int) -> CountedGrid | None:
        """The kind-11 grid this version-3 model writes at bound ``code`` (over the grid :meth:`lattice_for`
        picks; never at the lossless bound, where kinds 9 and 10 apply), or None."""
        if self.model.version < 3 or code == self.lossless:
            return None
        if code not in self._written:  # the encoder's own bounds: few, so kept whatever the answer
            self._written[code] = self._counted_grid(
                code, grid.LATTICE if self.lattice_for(code) else grid.PLAIN
            )
        return self._written[code]

    def _counted_grid(self, code: int, base: int) -> CountedGrid | None:
        """:func:`counted_grid`, kept per bound and base where there is one (a bound a record names without
        one is refused; not kept, so records naming arbitrary bounds cannot grow the cache)."""
        found = self._counted.get((code, base))
        if found is None:
            found = counted_grid(self.params, code, base)
            if found is not None:
                self._counted[code, base] = found
        return found

    def _steps(self, code: int, g: int) -> np.ndarray:
        """Per column the step the model codes on at bound ``code`` on grid ``g``."""
        if g in COUNTED:
            return self._counted_of(code, g).steps
        return self.params.steps(code, g)

    def _rebuild(self, q: np.ndarray, code: int, g: int) -> np.ndarray:
        """Float32 records of the integers ``q`` (N, D) the model coded at bound ``code`` on grid ``g``."""
        if g in COUNTED:
            counted = self._counted_of(code, g)
            return grid.rebuild(fine_lattice.from_counts(q, *counted.fine), counted.value_steps)
        return self.params.rebuild(q, code, g)

    def _counted_of(self, code: int, g: int) -> CountedGrid:
        counted = self._counted_grid(code, base_of(g))
        if counted is None:
            raise EnvelopeError(
                "kind-11 payload (learned, counts where coarser), but no column of the model has a fine "
                "lattice coarser than the record's grid at its bound"
            )
        return counted

    def _header(self, code: int, lattice: bool) -> bytes:
        if lattice and self.kind_at(code) in (Kind.LEARNED3_LOSSLESS, Kind.LEARNED3_COUNTS):
            return b""  # kinds 9 and 10: the bundle names bound and grid
        flag = _LATTICE if lattice else 0
        presets = self.params.presets
        if code in presets and presets.index(code) < _EXPLICIT:
            return bytes((flag | presets.index(code),))
        return bytes((flag | _EXPLICIT,)) + code.to_bytes(2, "big")

    def encode(
        self, records: np.ndarray, error_bound: ErrorBound
    ) -> tuple[list[bytes | None], np.ndarray, list[int]]:
        """Bodies of float32 ``records`` (N, D) (None where a value is off the grid), the values they decode
        to (rows of None bodies are left as NaN) and the envelope kind of each: :meth:`kind_at`, or kind 8
        where a kind-11 record has a value of a counted column off its fine lattice (then coded on the grid
        of the other columns)."""
        x = np.asarray(records, dtype=np.float32)
        code = error_bound.code
        g = self._grid_at(code)
        bodies, decoded = self._encode_on(x, code, g)
        kinds = [self.kind_at(code)] * len(bodies)
        rest = [i for i, body in enumerate(bodies) if body is None] if g in COUNTED else []
        if rest:
            more, values = self._encode_on(x[rest], code, base_of(g))
            for j, i in enumerate(rest):
                if more[j] is not None:
                    bodies[i], kinds[i], decoded[i] = more[j], self.kind, values[j]
        return bodies, decoded, kinds

    def _encode_on(self, x: np.ndarray, code: int, g: int) -> tuple[list[bytes | None], np.ndarray]:
        """:meth:`encode` of records ``x`` on grid ``g`` alone: bodies (None where a record cannot go on it)
        and decoded values."""
        value_steps = self._value_steps(code, g)
        q, raw = grid.quantize(x, grid.bound_from_code(code), value_steps)
        coded, ok = self._coded(q, code, g)
        good = ~raw.any(axis=1) & ok
        bodies: list[bytes | None] = [None] * x.shape[0]
        decoded = np.full(x.shape, np.nan, np.float32)
        idx = np.flatnonzero(good)
        if idx.size:
            head = self._header(code, self.lattice_for(code))
            streams = encode_streams(self.model, coded[idx].reshape(-1, *self.layout), self._steps(code, g))
            for i, stream in zip(idx.tolist(), streams, strict=True):
                bodies[i] = head + stream
            decoded[idx] = grid.rebuild(q[idx], value_steps)
        return bodies, decoded

    def _value_steps(self, code: int, g: int) -> np.ndarray:
        """Per value (D,) the step of the grid integers values are quantized to and rebuilt from at bound
        ``code`` on grid ``g``: the quantum in the counted columns of a kind-11 grid, else the grid's step
        (the lattice's on the fine lattice, whose counts are taken from its integers)."""
        if g in COUNTED:
            return self._counted_of(code, g).value_steps
        return self.params.step_flat(code, self.lattice_for(code))

    def _coded(self, q: np.ndarray, code: int, g: int) -> tuple[np.ndarray, np.ndarray]:
        """The integers this model codes for grid integers ``q`` (N, D) at bound ``code`` on grid ``g`` and
        whether each record can be coded so: ``q`` itself, or the counts (on the fine lattice, kind 10; in
        the counted columns, kind 11), with each record whole on its lattice or not."""
        if g in COUNTED:
            fine = self._counted_of(code, g).fine
        elif g == grid.FINE:
            fine = self.params.fine_flat(code)
        else:
            return q, np.ones(q.shape[0], bool)
        k, exact = fine_lattice.to_counts(q, *fine)
        return k, exact.all(axis=1)

    def encode_one(self, x: np.ndarray, code: int) -> tuple[bytes, int] | None:
        """The body and envelope kind of one contiguous float32 record ``x`` (D,) at bound ``code``, or None
        where a value is off the grid: :meth:`encode` of a batch of one, the same bytes, without the decoded
        values (a per-record serializer's path)."""
        g = self._grid_at(code)
        body = self._encode_one_on(x, code, g)
        if body is not None:
            return body, self.kind_at(code)
        if g in COUNTED:
            body = self._encode_one_on(x, code, base_of(g))
            if body is not None:
                return body, self.kind
        return None

    def _encode_one_on(self, x: np.ndarray, code: int, g: int) -> bytes | None:
        q, _, n_raw = quantize_one(x, self._value_steps(code, g), grid.bound_from_code(code))
        if n_raw:
            return None
        coded, ok = self._coded(q[None], code, g)
        if not ok[0]:
            return None
        stream = encode_streams(self.model, coded.reshape(1, *self.layout), self._steps(code, g))[0]
        return self._header(code, self.lattice_for(code)) + stream

    def check_kind(self, kind: int, model: str = "") -> None:
        """Raise :class:`EnvelopeError` unless this model reads records of envelope ``kind`` (``model``:
        the model's name in the message)."""
        if kind in (Kind.LEARNED3_LOSSLESS, Kind.LEARNED3_COUNTS) and self.model.version >= 3:
            code = self._lossless_code(model)
            if (kind == Kind.LEARNED3_COUNTS) != (self.kind_at(code) == Kind.LEARNED3_COUNTS):
                raise EnvelopeError(
                    f"kind-{kind} payload (learned, lossless), but the model{' ' + model if model else ''} "
                    f"writes kind {self.kind_at(code):d} at its lossless bound (counts on a fine lattice: kind 10)"
                )
        elif kind != self.kind and not (kind == Kind.LEARNED3_COUNTED and self.model.version >= 3):
            raise EnvelopeError(
                f"kind-{kind} payload, but the learned model{' of ' + model if model else ''} is version "
                f"{self.model.version}, written as kind {self.kind}"
            )

    def _lossless_code(self, model: str = "") -> int:
        if self.lossless is None:
            raise EnvelopeError(
                f"kind-{Kind.LEARNED3_LOSSLESS:d} payload (learned, lossless), but the data of "
                f"{'model ' + model if model else 'this model'} has a column without a quantum: it has no "
                "lossless bound"
            )
        return self.lossless

    def read_header(self, body: bytes, kind: int) -> tuple[int, int, int]:
        """``(bound code, grid, header length)`` of a body of envelope ``kind`` (a learned kind this model
        reads: :meth:`check_kind`); the grid is ``grid.PLAIN``, ``grid.LATTICE``, (kind 10) ``grid.FINE`` or
        (kind 11) one of :data:`~compressor.learned.counted.COUNTED`."""
        if kind == Kind.LEARNED3_LOSSLESS:
            return self._lossless_code(), grid.LATTICE, 0
        if kind == Kind.LEARNED3_COUNTS:
            return self._lossless_code(), grid.FINE, 0
        if not body:
            raise EnvelopeError("learned payload is empty")
        lattice = grid.LATTICE if body[0] & _LATTICE else grid.PLAIN
        index = body[0] & _EXPLICIT
        if index == _EXPLICIT:
            if len(body) < 3:
                raise EnvelopeError("learned payload is truncated")
            code, start = int.from_bytes(body[1:3], "big"), 3
        elif index >= len(self.params.presets):
            raise EnvelopeError(
                f"learned payload names preset bound {index}, the model has {len(self.params.presets)}"
            )
        else:
            code, start = self.params.presets[index], 1
        return code, COUNTED[lattice] if kind == Kind.LEARNED3_COUNTED else lattice, start

    def _read_grid(self, body: bytes, kind: int) -> tuple[int, int, int]:
        """:meth:`read_header`, refusing a lattice record where the model knows no lattice."""
        code, lattice, start = self.read_header(body, kind)
        if lattice and self.params.quanta is None:
            raise EnvelopeError("record is coded on the data's lattice, but the model knows no quantum")
        return code, lattice, start

    def decode_one(self, body: bytes, kind: int) -> tuple[np.ndarray, float]:
        """The decoded record (D,) float32 of one body of envelope ``kind`` and its bound: :meth:`decode`
        of a batch of one."""
        code, lattice, start = self._read_grid(body, kind)
        q = decode_stream(self.model, body[start:], self._steps(code, lattice), self.layout)
        if q is None:
            raise EnvelopeError("learned payload does not decode (truncated or corrupt)")
        return self._rebuild(q.reshape(1, -1), code, lattice)[0], grid.bound_from_code(code)

    def read_bound(self, body: bytes, kind: int) -> float:
        """The bound a body of envelope ``kind`` was coded with."""
        self.check_kind(kind)
        return grid.bound_from_code(self.read_header(body, kind)[0])

    def decode(self, bodies: Sequence[bytes], kinds: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Decoded records (N, D) float32 and the bound of each (N,) float64, of bodies of envelope
        ``kinds`` (learned kinds this model reads: :meth:`check_kind`)."""
        n = len(bodies)
        rows, cols = self.layout
        out = np.empty((n, rows * cols), np.float32)
        bounds = np.empty(n, np.float64)
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        streams: list[bytes] = [b""] * n
        for i, (body, kind) in enumerate(zip(bodies, kinds, strict=True)):
            code, lattice, start = self._read_grid(body, kind)
            groups[(code, lattice)].append(i)
            streams[i] = body[start:]
        for (code, lattice), members in groups.items():
            bounds[members] = grid.bound_from_code(code)
            steps = self._steps(code, lattice)
            q, ok = decode_streams(self.model, [streams[i] for i in members], steps, self.layout)
            if not ok.all():
                raise EnvelopeError("learned payload does not decode (truncated or corrupt)")
            out[members] = self._rebuild(q.reshape(len(members), -1), code, lattice)
        return out, bounds
