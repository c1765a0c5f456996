"""The event coder: a window of events of one key as one ANS stream plus a block of literals.

Payload layout 3 (envelope kinds 4 and 5; see "Event payloads" in ``docs/wire-format.md``; a schema with no
fine lattice writes layout 2, the same without the counts step)::

    uint (LEB128)   length L of the literal block
    L bytes         literal block: the literals concatenated, zstd with the schema's dictionary or stored
    rest            one ANS stream (:mod:`compressor.events.entropy`), read in this order:
      count - 1               uint (kind 4 only; kind 5 holds one event)
      bound                   0 = lossless, 1 + i = preset relative bound i, 1 + presets = a 16-bit code
                              (weights 8, 8, 4, 4, 2, 2, 1, ... 1)
      literals                flag "there are literals" (rare), then: flag "block is zstd", count (uint),
                              lengths (integer column)
      keys                    flag "every key is the record's key" (usual), else a token column
      headers                 token column of each event's header set (msgpack)
      styles                  per event: JSON spelling, "carried whole" or "tombstone"
      layouts                 per JSON event: index of its key order, or "new" (the order is a literal)
      clock field             when the schema has one and every event holds it (base: the record's
                              timestamp)
      timestamps              flag "every timestamp is the record's" (usual), else an integer column of
                              timestamp - record timestamp (bases: none, or the clock field's values)
      fields, schema order    over the events that hold the field (see below), the clock field skipped
                              when it came first
      new fields              nothing in the stream: their values are literals, in event order

A ``token`` field is a token column. A ``number`` field sends a flag "all values regular" (with the
training frequency), else one flag per value; regular values as an integer column (lossy: grid
integers; lossless: a flag "all decimals usual" (training frequency) and, if not, the decimals, then a
usual flag "aligned" and the mantissas, aligned on the column's finest decimal scale when they fit; a field
with a fine lattice then sends a flag "counts" and, with it, the counts of the mantissas on the lattice and
the few values off it), the others as a token column. A ``numbers`` field does the same per array, then the array
lengths and all regular values flattened (the lag predictor spans one array). A payload of fewer than
:data:`SMALL` events sends its integer columns with the fields' learned priors (no predictor or class
symbols).

The relative bound ``rel`` makes a lossy field's bound ``E = rel * range`` (its training range);
``rel`` travels as the 16-bit code of :func:`compressor.bounded.grid.bound_code`. A field with no range
is coded losslessly.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import zstandard

from compressor.bounded.grid import bound_code, bound_from_code
from compressor.bounded.tables import uniform_model
from compressor.envelope import MAX_BODY_BYTES
from compressor.errors import ConfigError, EnvelopeError
from compressor.events.entropy import Reader, Tape, categorical, decode_errors
from compressor.events.event import Event
from compressor.events.jsontext import STYLES, Num, dump, parse, split_decimal, unflatten
from compressor.events.numbers import (
    Prior,
    align,
    center_on,
    column_cost,
    decode_column,
    encode_column,
    lossless_ints,
    lossless_texts,
    lossy_ints,
    lossy_step,
    lossy_texts,
    unalign,
)
from compressor.events.schema import (
    TOMBSTONE,
    WHOLE,
    EventSchema,
    FieldSpec,
    event_object,
    header_token,
    key_token,
    token_of,
)

__all__ = ["PRESET_BOUNDS", "SMALL", "EventCoder"]

#: payloads of fewer events than this code their columns with the fields' learned priors
SMALL = 8

#: relative bounds coded in a few bits (others cost 16)
PRESET_BOUNDS = (1e-2, 5e-3, 2e-2, 1e-3, 5e-2, 2e-3, 1e-1, 5e-4, 1e-4)
_MAX_EVENTS = 1 << 20


class EventCoder:
    """Codes windows of events with a learned :class:`EventSchema`.

    Parameters:
        schema (EventSchema): the topic's learned schema.
        relative_bound (float | None): each lossy field's error bound as a fraction of its training
            range; None codes every field losslessly. Default: None.

    Decoding needs only the schema: the bound travels in the payload.
    """

    def __init__(self, schema: EventSchema, relative_bound: float | None = None) -> None:
        self.schema = schema
        self.code = None if relative_bound is None else bound_code(relative_bound)
        if relative_bound is not None and not 0 < relative_bound < 1:
            raise ConfigError(f"the relative error bound must be in (0, 1), got {relative_bound}")
        self._zc = zstandard.ZstdCompressor(
            level=19,
            dict_data=self._zdict,
            write_checksum=False,
            write_content_size=False,
            write_dict_id=False,
        )

    @functools.cached_property
    def _zdict(self) -> zstandard.ZstdCompressionDict | None:
        data = self.schema.zstd_dict
        return zstandard.ZstdCompressionDict(data) if data else None

    @functools.cached_property
    def _presets(self) -> tuple[int, ...]:
        return tuple(bound_code(b) for b in PRESET_BOUNDS)

    @functools.cached_property
    def _models(self) -> tuple[Any, Any]:
        s = self.schema
        total = sum(s.style_counts)
        styles = categorical([c * 64 + max(1, total // 8) for c in s.style_counts])
        layouts = categorical([c * 64 + 1 for c in s.layout_counts] + [max(1, sum(s.layout_counts) // 4)])
        return styles, layouts

    # ------------------------------------------------------------------ encode
    def encode(
        self, events: Sequence[Event], key: bytes | None, timestamp: int, *, single: bool = False
    ) -> bytes:
        """The payload of ``events`` (one for ``single``); the record carrying it has ``key`` and
        ``timestamp``."""
        n = len(events)
        if single and n != 1 or not 0 < n <= _MAX_EVENTS:
            raise ValueError(
                f"cannot code {n} events in one {'single-event' if single else 'window'} payload"
            )
        s = self.schema
        body, literals = Tape(), []
        styles_m, layouts_m = self._models
        bound = None if self.code is None else bound_from_code(self.code)
        # keys, timestamps, headers
        small = n < SMALL
        keys = [key_token(ev.key) for ev in events]
        same_key = all(ev.key == key for ev in events)
        body.symbol(0 if same_key else 1, _usual())
        if not same_key:
            s.keys.encode(body, keys, literals)
        ts = np.asarray([ev.timestamp for ev in events], dtype=np.int64)
        s.headers.encode(body, [header_token(ev.headers) for ev in events], literals)
        # styles and layouts
        read = [event_object(ev.value, s.nested) for ev in events]
        objects: list[dict | None] = [obj for obj, _ in read]
        styles = [style for _, style in read]
        body.symbols(np.asarray(styles), styles_m)
        layout_index = {layout: i for i, layout in enumerate(s.layouts)}
        new_keys: list[tuple[int, str]] = []
        for i, obj in enumerate(objects):
            if obj is None:
                continue
            layout = tuple(obj)
            idx = layout_index.get(layout, len(s.layouts))
            body.symbol(idx, layouts_m)
            if idx == len(s.layouts):
                literals.append(token_of(list(layout)))
                new_keys.extend((i, k) for k in layout if k not in s.by_name)
        # the clock field, timestamps, fields
        record = np.full(n, int(timestamp), np.int64)
        clock = self._clock(layouts_of(objects))
        ticks: list[Any] = []
        if clock is not None:
            ticks = [obj[clock.name] for obj in objects]  # type: ignore[index]
            self._encode_field(body, clock, ticks, record, bound, literals, small)
        same_ts = bool((ts == int(timestamp)).all())
        body.symbol(0 if same_ts else 1, _usual())
        if not same_ts:
            encode_column(body, ts - int(timestamp), self._ts_bases(n, clock, ticks, timestamp))
        for spec in s.fields:
            at = [i for i, obj in enumerate(objects) if obj is not None and spec.name in obj]
            if at and spec is not clock:
                values = [objects[i][spec.name] for i in at]  # type: ignore[index]
                self._encode_field(body, spec, values, ts[at], bound, literals, small)
        literals.extend(token_of(objects[i][k]) for i, k in new_keys)  # type: ignore[index]
        literals.extend(ev.value for ev, st in zip(events, styles, strict=True) if st == WHOLE)  # type: ignore[misc]
        # head: count, bound, literal block
        head = Tape()
        if not single:
            head.uint(n - 1)
        self._encode_bound(head)
        block = b"".join(literals)
        packed = self._zc.compress(block) if block and self._zdict is not None else block
        zipped = len(packed) < len(block)
        head.symbol(1 if literals else 0, _usual())
        if literals:
            head.flag(zipped)
            head.uint(len(literals))
            encode_column(
                head,
                np.asarray([len(x) for x in literals], dtype=np.int64),
                [np.zeros(len(literals), np.int64)],
            )
        head.extend(body)
        block = packed if zipped else block
        return _leb128(len(block)) + block + head.finish()

    def _encode_bound(self, tape: Tape) -> None:
        presets = self._presets
        model = _bound_model(len(presets))
        if self.code is None:
            tape.symbol(0, model)
        elif self.code in presets:
            tape.symbol(1 + presets.index(self.code), model)
        else:
            tape.symbol(len(presets) + 1, model)
            tape.symbol(self.code, uniform_model(1 << 16))

    def _encode_field(
        self,
        tape: Tape,
        spec: FieldSpec,
        values: list[Any],
        ts: np.ndarray,
        bound: float | None,
        literals: list,
        small: bool,
    ) -> None:
        if spec.kind == "token":
            spec.tokens.encode(tape, [token_of(v) for v in values], literals)
            return
        field_bound = _field_bound(spec, bound)
        if spec.kind == "number":
            texts = [v if isinstance(v, Num) else Num("0") for v in values]
            regular = np.asarray([isinstance(v, Num) for v in values], dtype=bool)
            groups = [[t] for t in texts]
        else:
            groups = [v if isinstance(v, list) and all(isinstance(x, Num) for x in v) else [] for v in values]
            regular = np.asarray([isinstance(v, list) and all(isinstance(x, Num) for x in v) for v in values])
            texts = [t for g in groups for t in g]
        lengths = np.asarray([len(g) for g in groups], dtype=np.int64)
        owner = np.repeat(np.arange(len(groups)), lengths)
        if field_bound is not None:
            q, ok = lossy_ints(texts, field_bound, spec.integer)
            cols = [q]
        else:
            m, d, ok = lossless_ints(texts)
            cols = [m, d]
        bad_groups = np.unique(owner[~ok]) if len(texts) else np.zeros(0, np.int64)
        regular[bad_groups] = False
        tape.symbol(0 if regular.all() else 1, _counts_model(spec.regular))
        if not regular.all():
            tape.symbols(regular.astype(np.int64), uniform_model(2))
        keep = regular[owner] if len(texts) else np.zeros(0, bool)
        cols = [c[keep] for c in cols]
        if spec.kind == "numbers" and regular.any():
            encode_column(
                tape,
                lengths[regular],
                [np.full(int(regular.sum()), spec.lag, np.int64)],
                prior=_EXACT if small else None,
            )
        count = int(keep.sum())
        if count:
            top, values_col = 0, cols[0]
            if len(cols) > 1:  # lossless: decimals first, then the mantissas on one decimal scale
                usual = bool((cols[1] == spec.decimals).all())
                tape.symbol(0 if usual else 1, _counts_model(spec.usual))
                if not usual:
                    encode_column(tape, cols[1], [np.zeros(count, np.int64)], lag=spec.lag)
                aligned = align(cols[0], cols[1])
                if aligned is not None and not self._pays_to_align(
                    spec, cols[0], aligned, ts[owner[keep]], small
                ):
                    aligned = None
                tape.symbol(0 if aligned is not None else 1, _usual())
                if aligned is not None:
                    values_col, top = aligned
            bases = self._bases(spec, field_bound, ts[owner[keep]], top)
            prior = _prior(spec, field_bound) if small else None
            f = _lattice_factor(spec, len(cols) > 1 and aligned is not None, top)
            counted = _on_lattice(spec, values_col, bases, f, prior, small) if f else None
            if f:
                tape.symbol(0 if counted is not None else 1, _counts_model(spec.on_lattice))
            if counted is not None:
                values_col, bases, prior, off = counted
            encode_column(tape, values_col, bases, lag=spec.lag, prior=prior)
            if counted is not None:
                _encode_off_lattice(tape, off)
        spec.tokens.encode(
            tape, [token_of(v) for v, r in zip(values, regular, strict=True) if not r], literals
        )

    def _pays_to_align(
        self,
        spec: FieldSpec,
        mantissas: np.ndarray,
        aligned: tuple[np.ndarray, int],
        ts: np.ndarray,
        small: bool,
    ) -> bool:
        """Whether the aligned mantissas are estimated cheaper (a few values with many decimals can make
        every aligned value a large multiple)."""
        prior = spec.prior if small else None
        as_is = column_cost(mantissas, self._bases(spec, None, ts, 0), spec.lag, prior)
        return column_cost(aligned[0], self._bases(spec, None, ts, aligned[1]), spec.lag, prior) <= as_is

    def _clock(self, layouts: Sequence[tuple[str, ...] | None]) -> FieldSpec | None:
        """The clock field, when the schema has one and every event of the payload holds it."""
        name = self.schema.clock
        if not name or not all(lay is not None and name in lay for lay in layouts):
            return None
        return self.schema.fields[self.schema.by_name[name]]

    @staticmethod
    def _ts_bases(n: int, clock: FieldSpec | None, values: Sequence[Any], timestamp: int) -> list[np.ndarray]:
        bases = [np.zeros(n, np.int64)]
        if clock is not None:
            bases.append(_ticks(values, timestamp) - int(timestamp))
        return bases

    @staticmethod
    def _bases(spec: FieldSpec, field_bound: float | None, ts: np.ndarray, top: int = 0) -> list[np.ndarray]:
        """Lossy: the center on the grid. Lossless (mantissas on the scale ``10**-top``): the center on
        that scale, or the record timestamps."""
        n = len(ts)
        if field_bound is not None:
            step = lossy_step(field_bound, spec.integer)
            return [np.full(n, int(np.rint(spec.center / step)), np.int64)]
        return [np.full(n, center_on(spec.center, top), np.int64), ts]

    # ------------------------------------------------------------------ decode
    def decode(
        self, payload: bytes, key: bytes | None, timestamp: int, *, single: bool = False
    ) -> list[Event]:
        """The events of a payload; raises :class:`EnvelopeError` when it does not decode."""
        try:
            return self._decode(payload, key, timestamp, single)
        except decode_errors() as exc:
            if isinstance(exc, EnvelopeError):
                raise
            raise EnvelopeError(f"event payload does not decode: {type(exc).__name__}: {exc}") from exc

    def _decode(self, payload: bytes, key: bytes | None, timestamp: int, single: bool) -> list[Event]:
        size, at = _read_leb128(payload)
        block, stream = payload[at : at + size], payload[at + size :]
        if len(block) != size:
            raise EnvelopeError("event payload is shorter than its literal block")
        r = Reader(stream)
        n = 1 if single else r.uint() + 1
        if n > _MAX_EVENTS:
            raise EnvelopeError(f"event payload declares {n} events")
        bound = self._decode_bound(r)
        has_literals = r.symbol(_usual()) == 1
        zipped = r.flag() if has_literals else False
        count = r.uint() if has_literals else 0
        if has_literals and count == 0:
            raise EnvelopeError("event payload declares literals but none")
        if count > len(payload) * 8 + 64:
            raise EnvelopeError(f"event payload declares {count} literals")
        lengths = decode_column(r, count, [np.zeros(count, np.int64)]) if count else np.zeros(0, np.int64)
        if zipped:
            if self._zdict is None:
                raise EnvelopeError("event payload has a zstd literal block but the schema has no dictionary")
            total = int(lengths.sum())
            if not 0 <= total <= MAX_BODY_BYTES:
                raise EnvelopeError(f"event payload declares {total} bytes of literals")
            block = zstandard.ZstdDecompressor(dict_data=self._zdict).decompress(block, max_output_size=total)
        if (lengths < 0).any() or int(lengths.sum()) != len(block):
            raise EnvelopeError("event payload's literal lengths do not match its literal block")
        cuts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        literals = [block[cuts[i] : cuts[i + 1]] for i in range(count)][::-1]  # popped in order
        s = self.schema
        styles_m, layouts_m = self._models
        keys: list[bytes | None] = [key] * n
        if r.symbol(_usual()) == 1:
            keys = [None if t == b"" else t[1:] for t in s.keys.decode(r, n, literals)]
        small = n < SMALL
        headers = [_headers(t) for t in s.headers.decode(r, n, literals)]
        styles = r.symbols(n, styles_m).tolist()
        if max(styles) > TOMBSTONE:
            raise EnvelopeError("event payload names an unknown JSON style")
        layouts: list[tuple[str, ...] | None] = [None] * n
        for i, st in enumerate(styles):
            if st < WHOLE:
                idx = r.symbol(layouts_m)
                layouts[i] = s.layouts[idx] if idx < len(s.layouts) else tuple(_json(_pop(literals)))
        objects: list[dict | None] = [dict.fromkeys(lay) if lay is not None else None for lay in layouts]
        record = np.full(n, int(timestamp), np.int64)
        clock = self._clock(layouts)
        values: list[Any] = []
        if clock is not None:
            values = self._decode_field(r, clock, n, record, bound, literals, small)
            for obj, v in zip(objects, values, strict=True):
                obj[clock.name] = v  # type: ignore[index]
        ts = record.copy()
        if r.symbol(_usual()) == 1:
            ts += decode_column(r, n, self._ts_bases(n, clock, values, timestamp))
        for spec in s.fields:
            at = [i for i, lay in enumerate(layouts) if lay is not None and spec.name in lay]
            if at and spec is not clock:
                for i, v in zip(
                    at, self._decode_field(r, spec, len(at), ts[at], bound, literals, small), strict=True
                ):
                    objects[i][spec.name] = v  # type: ignore[index]
        r.check_done()
        for obj in objects:
            if obj is not None:
                for k in obj:
                    if k not in s.by_name:
                        obj[k] = _json(_pop(literals))
        out = []
        for i, st in enumerate(styles):
            if st == TOMBSTONE:
                value = None
            elif st == WHOLE:
                value = _pop(literals)
            else:
                obj = objects[i]
                value = dump(unflatten(obj) if s.nested else obj, STYLES[st]).encode()  # type: ignore[arg-type]
            out.append(Event(value, keys[i], int(ts[i]), headers[i]))
        if literals:
            raise EnvelopeError(f"event payload has {len(literals)} literal(s) left over")
        return out

    def _decode_bound(self, r: Reader) -> float | None:
        presets = self._presets
        sym = r.symbol(_bound_model(len(presets)))
        if sym == 0:
            return None
        code = presets[sym - 1] if sym <= len(presets) else r.symbol(uniform_model(1 << 16))
        return bound_from_code(code)

    def _decode_field(
        self,
        r: Reader,
        spec: FieldSpec,
        n: int,
        ts: np.ndarray,
        bound: float | None,
        literals: list,
        small: bool,
    ) -> list[Any]:
        if spec.kind == "token":
            return [_json(t) for t in spec.tokens.decode(r, n, literals)]
        field_bound = _field_bound(spec, bound)
        if r.symbol(_counts_model(spec.regular)) == 0:
            regular = np.ones(n, bool)
        else:
            regular = r.symbols(n, uniform_model(2)).astype(bool)
        n_reg = int(regular.sum())
        if spec.kind == "numbers":
            lengths = (
                decode_column(r, n_reg, [np.full(n_reg, spec.lag, np.int64)], prior=_EXACT if small else None)
                if n_reg
                else np.zeros(0, np.int64)
            )
            if (lengths < 0).any() or lengths.sum() > _MAX_EVENTS * 64:
                raise EnvelopeError("event payload holds an impossible array length")
        else:
            lengths = np.ones(n_reg, np.int64)
        count = int(lengths.sum())
        texts: list[Num] = []
        if count:
            owner_ts = np.repeat(ts[regular], lengths)
            prior = _prior(spec, field_bound) if small else None
            if field_bound is not None:
                first = decode_column(
                    r, count, self._bases(spec, field_bound, owner_ts), lag=spec.lag, prior=prior
                )
                texts = lossy_texts(first, field_bound, spec.integer)
            else:
                decimals = np.full(count, spec.decimals, np.int64)
                if r.symbol(_counts_model(spec.usual)) == 1:
                    decimals = decode_column(r, count, [np.zeros(count, np.int64)], lag=spec.lag)
                if (decimals < 0).any() or (decimals > 400).any():
                    raise EnvelopeError("event payload holds an impossible number of decimals")
                aligned = r.symbol(_usual()) == 0
                top = int(decimals.max()) if aligned else 0
                bases = self._bases(spec, None, owner_ts, top)
                f = _lattice_factor(spec, aligned, top)
                on = bool(f) and r.symbol(_counts_model(spec.on_lattice)) == 0
                if on:
                    bases = [spec.counts(b // f)[0] for b in bases]
                    prior = spec.lattice_prior if small else None
                first = decode_column(r, count, bases, lag=spec.lag, prior=prior)
                if on:
                    first = _from_counts(spec, first, f, _decode_off_lattice(r, count))
                texts = lossless_texts(unalign(first, decimals) if aligned else first, decimals)
        tokens = iter([_json(t) for t in spec.tokens.decode(r, n - n_reg, literals)])
        cuts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        out: list[Any] = []
        j = 0
        for reg in regular:
            if not reg:
                out.append(next(tokens))
                continue
            group = texts[cuts[j] : cuts[j + 1]]
            out.append(group[0] if spec.kind == "number" else list(group))
            j += 1
        return out


def _prior(spec: FieldSpec, field_bound: float | None) -> Prior:
    """The field's prior in the units of its coded integers (a lossy field's grid steps)."""
    if field_bound is None:
        return spec.prior
    step = lossy_step(field_bound, spec.integer)
    return Prior(spec.prior.base, spec.prior.order, spec.prior.scale / step)


#: lengths and other values that are almost always exactly as expected
_EXACT = Prior(0, 0, 0.0)
#: counts on a fine lattice stay below this (``k p`` fits in 62 bits for any lattice's ``p``)
_MAX_COUNT = 1 << 40


def _lattice_factor(spec: FieldSpec, aligned: bool, top: int) -> int:
    """``10**(top - t)`` when a lossless column's aligned mantissas (on the scale ``10**-top``) may travel
    as counts of the field's lattice (on the scale ``10**-t``); 0 when they may not."""
    if not spec.lattice or not aligned or not 0 <= top - spec.lattice[0] <= 15:
        return 0
    return 10 ** (top - spec.lattice[0])


def _on_lattice(
    spec: FieldSpec, q: np.ndarray, bases: list[np.ndarray], factor: int, prior: Prior | None, small: bool
) -> tuple[np.ndarray, list[np.ndarray], Prior | None, tuple[np.ndarray, np.ndarray]] | None:
    """The column as counts of the field's lattice, their bases and prior, and the values off the
    lattice (positions, and each value less its count's); None when the mantissas are off the lattice's
    scale or counts are not estimated cheaper."""
    if (q % factor != 0).any():
        return None
    counts, ok = spec.counts(q // factor)
    if (np.abs(counts) >= _MAX_COUNT).any():
        return None
    at = np.flatnonzero(~ok)
    off = (at, q[at] // factor - spec.from_counts(counts[at]))
    count_bases = [spec.counts(b // factor)[0] for b in bases]
    count_prior = spec.lattice_prior if small else None
    as_counts = column_cost(counts, count_bases, spec.lag, count_prior) + _OFF_BITS * len(at)
    if as_counts >= column_cost(q, bases, spec.lag, prior):
        return None
    return counts, count_bases, count_prior, off


#: estimated bits of a value off its field's lattice (its position and its difference)
_OFF_BITS = 24.0


def _encode_off_lattice(tape: Tape, off: tuple[np.ndarray, np.ndarray]) -> None:
    """A usual flag "every value is on the lattice", else their number, the gaps between their positions
    and each value less its count's (integer columns)."""
    at, diff = off
    tape.symbol(0 if not len(at) else 1, _usual())
    if len(at):
        tape.uint(len(at) - 1)
        encode_column(tape, np.diff(at, prepend=-1) - 1, [np.zeros(len(at), np.int64)])
        encode_column(tape, diff, [np.zeros(len(at), np.int64)])


def _decode_off_lattice(r: Reader, n: int) -> tuple[np.ndarray, np.ndarray]:
    if r.symbol(_usual()) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    m = r.uint() + 1
    if m > n:
        raise EnvelopeError("event payload puts more values off a lattice than it holds")
    gaps = decode_column(r, m, [np.zeros(m, np.int64)])
    diff = decode_column(r, m, [np.zeros(m, np.int64)])
    at = np.cumsum(gaps + 1) - 1
    if (gaps < 0).any() or at[-1] >= n or (np.abs(diff) >= _MAX_COUNT).any():
        raise EnvelopeError("event payload puts a value off a lattice where there is none")
    return at, diff


def _from_counts(
    spec: FieldSpec, counts: np.ndarray, factor: int, off: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Aligned mantissas of decoded counts and the values off the lattice (checked: a corrupt count
    must not overflow)."""
    if (np.abs(counts) >= _MAX_COUNT).any():
        raise EnvelopeError("event payload holds a count beyond its field's lattice")
    q = spec.from_counts(counts)
    q[off[0]] += off[1]
    if (np.abs(q) >= (1 << 52) // factor).any():
        raise EnvelopeError("event payload holds a count beyond its field's lattice")
    return q * factor


@functools.cache
def _bound_model(presets: int) -> Any:
    """Lossless and the first presets are likelier than the rest (halving weights, floor 1)."""
    return categorical([8, 8] + [max(1, 8 >> (1 + i // 2)) for i in range(presets - 1)] + [1])


@functools.cache
def _usual() -> Any:
    """A flag that is almost always 0 ("as usual")."""
    return categorical([63, 1])


@functools.cache
def _counts_model(counts: tuple[int, int]) -> Any:
    """A flag with training counts (0: the usual case)."""
    return categorical([8 * counts[0] + 1, 8 * counts[1] + 1])


def layouts_of(objects: Sequence[dict | None]) -> list[tuple[str, ...] | None]:
    return [None if obj is None else tuple(obj) for obj in objects]


def _ticks(values: Sequence[Any], timestamp: int) -> np.ndarray:
    """The clock field's values as integers (the record's timestamp where a value is not one)."""
    out = np.full(len(values), int(timestamp), np.int64)
    for i, v in enumerate(values):
        split = split_decimal(v) if isinstance(v, Num) else None
        if split is not None and split[1] == 0 and abs(split[0]) < 1 << 52:
            out[i] = split[0]
    return out


def _field_bound(spec: FieldSpec, rel: float | None) -> float | None:
    if rel is None or not spec.lossy or not spec.range > 0:
        return None
    return bound_from_code(bound_code(rel * spec.range))


def _json(token: bytes) -> Any:
    return parse(token)


def _pop(literals: list[bytes]) -> bytes:
    if not literals:
        raise EnvelopeError("event payload has fewer literals than it uses")
    return literals.pop()


def _headers(token: bytes) -> tuple[tuple[str, bytes], ...]:
    import msgpack

    pairs = msgpack.unpackb(token, raw=False)
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], bytes)
        for p in pairs
    ):
        raise EnvelopeError("event payload holds a malformed header set")
    return tuple((k, v) for k, v in pairs)


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_leb128(data: bytes) -> tuple[int, int]:
    value = shift = 0
    for i, byte in enumerate(data[:10]):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    raise EnvelopeError("event payload does not start with a literal block length")
