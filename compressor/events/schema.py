"""The schema of an event topic, learned from sample events: fields, their coding, layouts, dictionaries.

Learned at training (``EventSchema.learn``) and kept in the model bundle as plain JSON (``to_dict``):

* ``fields``: every top-level field seen, in order of first appearance, with its kind: ``number`` (a
  scalar JSON number), ``numbers`` (an array of numbers) or ``token`` (anything else: strings, booleans,
  nulls, nested values). Number fields say whether they are ``lossy`` (a value with a fraction or an
  exponent was seen: readings; integer fields such as counters and timestamps stay exact), their training
  ``center`` and value ``range`` (the error bound is relative to it), the usual array length ``lag``, and
  a token dictionary for values of another type; for small payloads (an event alone) the predictor that
  fitted the training events and the size of its residuals (a :class:`~compressor.events.numbers.Prior`),
  how often a value was regular, and the usual number of decimals (and how often it held). A number field
  whose exact values are sensor counts converted and rounded (steps of about 10.1 mg, 0.067 MW: on no
  decimal grid) keeps its **fine lattice** (:mod:`compressor.bounded.fine_lattice`) on its finest decimal
  scale, with the prior of its counts: coded losslessly, its values travel as counts (schema version 3).
* ``clock``: the integer field that follows the record timestamps (a ``ts`` written by the producer), if
  any: it is coded before the record timestamps, which are then sent as their distance to it.
* ``layouts``: the key orders seen, with counts; ``styles``: how often each JSON spelling was seen.
* ``nested``: some training event held a nested object; events are then flattened (every member of a
  nested object is a field of its own, see :func:`~compressor.events.jsontext.flatten`; schema version 3).
* dictionaries for record keys and header sets, and a zstd dictionary for literals.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
import zstandard

from compressor.bounded import fine_lattice
from compressor.errors import ConfigError
from compressor.events.event import Event
from compressor.events.jsontext import STYLES, Num, dump, find_style, flatten, parse, split_decimal
from compressor.events.numbers import Prior, align, center_on, fit_prior
from compressor.events.tokens import TokenDictionary

__all__ = [
    "TOMBSTONE",
    "WHOLE",
    "EventSchema",
    "FieldSpec",
    "event_object",
    "header_token",
    "key_token",
    "token_of",
]

FORMAT = "latentwire-event-schema"
#: version 2: payload layout 2 (priors, clock field, line predictor); version 1 is no longer read
PLAIN_VERSION = 2
#: version 3 (payload layout 3) adds fine lattices; a schema with none is written as version 2 (its payloads
#: are layout 2's, byte for byte), so consumers that read only layout 2 keep reading it
LATTICE_VERSION = 3
#: finest decimal scale a fine lattice is looked for on
MAX_LATTICE_DECIMALS = 15
MAX_LAYOUTS = 255
ZSTD_DICT_BYTES = 4096
#: style symbols after the JSON styles: a value carried whole, a tombstone
WHOLE = len(STYLES)
TOMBSTONE = len(STYLES) + 1


def token_of(value: Any) -> bytes:
    """A JSON value's canonical bytes (compact, UTF-8): how token columns name it."""
    return dump(value, STYLES[0]).encode()


def key_token(key: bytes | None) -> bytes:
    """A record key as a token (a null key and an empty key differ)."""
    return b"" if key is None else b"k" + key


def header_token(headers: Sequence[tuple[str, bytes]]) -> bytes:
    return msgpack.packb([[k, v] for k, v in headers], use_bin_type=True)


def event_object(value: bytes | None, nested: bool) -> tuple[dict | None, int]:
    """An event value's object (flattened when ``nested``) and its style: a JSON style, or :data:`WHOLE`
    (not a JSON object one style writes back exactly, or not flattenable) with no object, or
    :data:`TOMBSTONE`."""
    if value is None:
        return None, TOMBSTONE
    try:
        parsed = parse(value)
    except (ValueError, RecursionError):
        return None, WHOLE
    style = find_style(value, parsed) if isinstance(parsed, dict) else None
    if style is None:
        return None, WHOLE
    obj = flatten(parsed) if nested else parsed
    return (None, WHOLE) if obj is None else (obj, style)


def _is_number(v: Any) -> bool:
    return isinstance(v, Num)


def _lossy_text(t: str) -> bool:
    return any(c in t for c in ".eE")


@dataclass(frozen=True)
class FieldSpec:
    """How one field is coded.

    Parameters:
        name (str): the field's key.
        kind (str): ``number``, ``numbers`` (an array) or ``token``.
        lossy (bool): values may move within the bound. Default: False.
        center (float): median of the training values. Default: 0.0.
        range (float): max - min of the training values. Default: 0.0.
        lag (int): the usual array length. Default: 1.
        integer (bool): every training value was an integer (decoded values stay integers). Default: False.
        tokens (TokenDictionary): dictionary of the field's non-number values. Default: empty.
        prior (Prior): predictor of small payloads (lossy fields: scale in value units). Default: none.
        regular (tuple): training counts of (regular, other) values. Default: (1, 1).
        decimals (int): the usual number of decimals of a lossless value. Default: 0.
        usual (tuple): training counts of events whose decimals were all usual, and of the others.
            Default: (1, 1).
        lattice (tuple): the fine lattice of the exact values, ``(top, p, r, off, mirror)``: mantissas on
            the scale ``10**-top`` (the coarsest that holds every training value) are
            ``floor((k p + off) / r)`` of counts ``k``
            (:mod:`compressor.bounded.fine_lattice`); empty: none. Default: empty.
        lattice_prior (Prior): predictor of small payloads' counts (bases: the center and the record
            timestamps, as counts). Default: none.
        on_lattice (tuple): training counts of events whose values were all on the lattice, and of the
            others. Default: (1, 1).
    """

    name: str
    kind: str
    lossy: bool = False
    center: float = 0.0
    range: float = 0.0
    lag: int = 1
    integer: bool = False
    tokens: TokenDictionary = field(default_factory=lambda: TokenDictionary((), (1, 1), (1, 1)))
    prior: Prior = Prior(0, 0, 0.0)
    regular: tuple[int, int] = (1, 1)
    decimals: int = 0
    usual: tuple[int, int] = (1, 1)
    lattice: tuple = ()
    lattice_prior: Prior = Prior(0, 0, 0.0)
    on_lattice: tuple[int, int] = (1, 1)

    def to_dict(self) -> dict:
        d = {
            "name": self.name,
            "kind": self.kind,
            "lossy": self.lossy,
            "center": self.center,
            "range": self.range,
            "lag": self.lag,
            "integer": self.integer,
            "tokens": self.tokens.to_dict(),
            "prior": [self.prior.base, self.prior.order, self.prior.scale],
            "regular": list(self.regular),
            "decimals": self.decimals,
            "usual": list(self.usual),
        }
        if self.lattice:
            d["lattice"] = list(self.lattice)
            d["lattice_prior"] = [self.lattice_prior.base, self.lattice_prior.order, self.lattice_prior.scale]
            d["on_lattice"] = list(self.on_lattice)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FieldSpec:
        lattice: tuple = ()
        if "lattice" in d:
            top, *spec = d["lattice"]
            if not (fine_lattice.valid(spec) and isinstance(top, int) and 0 <= top <= MAX_LATTICE_DECIMALS):
                raise ConfigError(f"event schema field {d.get('name')!r} has an invalid fine lattice")
            lattice = (top, *spec)
        prior = d.get("lattice_prior", [0, 0, 0.0])
        return cls(
            str(d["name"]),
            str(d["kind"]),
            bool(d["lossy"]),
            float(d["center"]),
            float(d["range"]),
            int(d["lag"]),
            bool(d["integer"]),
            TokenDictionary.from_dict(d["tokens"]),
            Prior(int(d["prior"][0]), int(d["prior"][1]), float(d["prior"][2])),
            (int(d["regular"][0]), int(d["regular"][1])),
            int(d["decimals"]),
            (int(d["usual"][0]), int(d["usual"][1])),
            lattice,
            Prior(int(prior[0]), int(prior[1]), float(prior[2])),
            tuple(int(c) for c in d.get("on_lattice", (1, 1))),  # type: ignore[arg-type]
        )

    def counts(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Counts of mantissas ``q`` on the scale ``10**-top`` and whether each rebuilds exactly."""
        _, p, r, off, mirror = self.lattice
        return fine_lattice.to_counts(q, p, r, off, mirror)

    def from_counts(self, k: np.ndarray) -> np.ndarray:
        _, p, r, off, mirror = self.lattice
        return fine_lattice.from_counts(k, p, r, off, mirror)


@dataclass(frozen=True)
class EventSchema:
    """A topic's learned event schema (see the module docstring). Build it with :meth:`learn`.

    Parameters:
        fields (tuple): one :class:`FieldSpec` per field, in order of first appearance.
        layouts (tuple): the key orders seen, most frequent first.
        layout_counts (tuple): how often each layout was seen.
        style_counts (tuple): how often each JSON spelling, "carried whole" and "tombstone" were seen.
        keys (TokenDictionary): the record keys.
        headers (TokenDictionary): the header sets.
        zstd_dict (bytes): zstd dictionary for literals. Default: none.
        clock (str): the clock field's name; empty: none. Default: empty.
        nested (bool): events are flattened (:func:`~compressor.events.jsontext.flatten`): the members of
            nested objects are fields of their own (schema version 3). Default: False.
    """

    fields: tuple[FieldSpec, ...]
    layouts: tuple[tuple[str, ...], ...]
    layout_counts: tuple[int, ...]
    style_counts: tuple[int, ...]
    keys: TokenDictionary
    headers: TokenDictionary
    zstd_dict: bytes = b""
    clock: str = ""
    nested: bool = False

    @classmethod
    def learn(cls, events: Sequence[Event]) -> EventSchema:
        """Learn from sample events (in their topic order; consecutive events of a key form runs)."""
        if not events:
            raise ConfigError("learning an event schema needs at least one sample event")
        styles = [0] * (TOMBSTONE + 1)
        layouts: Counter[tuple[str, ...]] = Counter()
        values: dict[str, list[Any]] = defaultdict(list)
        runs: dict[bytes | None, list[Event]] = defaultdict(list)
        objects: list[tuple[bytes | None, dict, int]] = []
        read = [event_object(ev.value, False) for ev in events]
        nested = any(
            obj is not None and any(isinstance(v, dict) and v for v in obj.values()) for obj, _ in read
        )
        if nested:
            read = [event_object(ev.value, True) for ev in events]
        for ev, (obj, style) in zip(events, read, strict=True):
            runs[ev.key].append(ev)
            styles[style] += 1
            if obj is None:
                continue
            layouts[tuple(obj)] += 1
            objects.append((ev.key, obj, ev.timestamp))
            for k, v in obj.items():
                values[k].append(v)
        specs = tuple(_learn_field(name, vals, objects) for name, vals in values.items())
        top = layouts.most_common(MAX_LAYOUTS)
        return cls(
            fields=specs,
            layouts=tuple(layout for layout, _ in top),
            layout_counts=tuple(c for _, c in top),
            style_counts=tuple(styles),
            keys=TokenDictionary.learn([[key_token(ev.key) for ev in run] for run in runs.values()]),
            headers=TokenDictionary.learn(
                [[header_token(ev.headers) for ev in run] for run in runs.values()]
            ),
            zstd_dict=_train_zstd([ev.value for ev in events if ev.value is not None]),
            clock=_find_clock(specs, objects),
            nested=nested,
        )

    def to_dict(self) -> dict:
        layout3 = self.nested or any(f.lattice for f in self.fields)
        d = {
            "format": FORMAT,
            "version": LATTICE_VERSION if layout3 else PLAIN_VERSION,
            "fields": [f.to_dict() for f in self.fields],
            "layouts": [list(layout) for layout in self.layouts],
            "layout_counts": list(self.layout_counts),
            "style_counts": list(self.style_counts),
            "keys": self.keys.to_dict(),
            "headers": self.headers.to_dict(),
            "zstd_dict": base64.b64encode(self.zstd_dict).decode(),
            "clock": self.clock,
        }
        if self.nested:
            d["nested"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict) -> EventSchema:
        if d.get("format") == FORMAT and d.get("version") == 1:
            raise ConfigError(
                f"{FORMAT} version 1 (event payload layout 1) is no longer read by this consumer: "
                "retrain the event model (train --from-topic) and restart both bridges with it"
            )
        if d.get("format") != FORMAT or d.get("version") not in (PLAIN_VERSION, LATTICE_VERSION):
            raise ConfigError(
                f"not a {FORMAT} version {PLAIN_VERSION} or {LATTICE_VERSION}: "
                f"{d.get('format')!r} {d.get('version')!r}"
            )
        if d["version"] == PLAIN_VERSION and (d.get("nested") or any("lattice" in f for f in d["fields"])):
            raise ConfigError(
                f"a {FORMAT} version {PLAIN_VERSION} cannot hold fine lattices or nested fields"
            )
        return cls(
            fields=tuple(FieldSpec.from_dict(f) for f in d["fields"]),
            layouts=tuple(tuple(layout) for layout in d["layouts"]),
            layout_counts=tuple(d["layout_counts"]),
            style_counts=tuple(d["style_counts"]),
            keys=TokenDictionary.from_dict(d["keys"]),
            headers=TokenDictionary.from_dict(d["headers"]),
            zstd_dict=base64.b64decode(d["zstd_dict"]),
            clock=str(d["clock"]),
            nested=bool(d.get("nested", False)),
        )

    @functools.cached_property
    def schema_id(self) -> bytes:
        """SHA-256 of the schema's canonical JSON."""
        return hashlib.sha256(
            json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        ).digest()

    @functools.cached_property
    def by_name(self) -> dict[str, int]:
        return {f.name: i for i, f in enumerate(self.fields)}


_Objects = list[tuple[bytes | None, dict, int]]


def _learn_field(name: str, vals: list[Any], objects: _Objects) -> FieldSpec:
    numbers = [v for v in vals if _is_number(v)]
    arrays = [v for v in vals if _is_array(v)]
    if len(numbers) * 2 > len(vals):
        kind, regular, texts, lag = "number", _is_number, numbers, 1
    elif len(arrays) * 2 > len(vals):
        kind, regular, texts = "numbers", _is_array, [x for a in arrays for x in a]
        lag = Counter(len(a) for a in arrays).most_common(1)[0][0]
    else:
        kind, regular, texts, lag = "token", None, [], 1
    runs: dict[bytes | None, list[bytes]] = defaultdict(list)
    for key, obj, _ in objects:
        if name in obj and (regular is None or not regular(obj[name])):
            runs[key].append(token_of(obj[name]))
    tokens = TokenDictionary.learn(list(runs.values()))
    if kind == "token":
        return FieldSpec(name, kind, tokens=tokens)
    x = np.asarray([float(t) for t in texts], dtype=np.float64)
    x = x[np.isfinite(x)]
    center = float(np.median(x)) if x.size else 0.0
    span = float(x.max() - x.min()) if x.size else 0.0
    integer = not any(_lossy_text(t) for t in texts)
    # readings are lossy; integer fields only when they look like readings too: many distinct values and
    # not a counter or a timestamp (those never decrease along a key)
    lossy = not integer or (len(set(texts)) >= _READING_DISTINCT and not _monotone(name, objects))
    held = [(obj[name], ts) for _, obj, ts in objects if name in obj]
    good = [(v if kind == "numbers" else [v], ts) for v, ts in held if regular(v)]
    splits = [([split_decimal(t) for t in v], ts) for v, ts in good]
    exact = [(p, ts) for p, ts in splits if all(x is not None and abs(x[0]) < 1 << 52 for x in p)]
    decimals = Counter(x[1] for p, _ in exact for x in p).most_common(1)[0][0] if exact else 0
    n_usual = sum(all(x[1] == decimals for x in p) for p, _ in exact)
    if lossy:
        prior = fit_prior([[np.asarray([float(t) for t in v]) - center for v, _ in good]], lag)
    else:
        m = [_aligned(p) + (ts,) for p, ts in exact]
        prior = fit_prior([[y - center_on(center, top) for y, top, _ in m], [y - ts for y, _, ts in m]], lag)
    lattice = _learn_lattice(exact, center, lag)
    return FieldSpec(
        name,
        kind,
        lossy,
        center,
        span,
        lag,
        integer,
        tokens,
        prior,
        (len(good), len(held) - len(good)),
        int(decimals),
        (n_usual, len(exact) - n_usual),
        *lattice,
    )


def _learn_lattice(exact: list[tuple[list, int]], center: float, lag: int) -> tuple:
    """The fine lattice of a field's exact values on their finest decimal scale, the prior of its counts
    and how often an event's values were all on it; ``()`` when the values sit on no fine lattice."""
    pairs = [x for p, _ in exact for x in p]
    if not pairs:
        return ()
    top = max(d for _, d in pairs)
    if top > MAX_LATTICE_DECIMALS:
        return ()
    events = [(np.asarray([m * 10 ** (top - d) for m, d in p], dtype=object), ts) for p, ts in exact]
    if any(abs(int(v)) >= 1 << 52 for q, _ in events for v in q):
        return ()
    events = [(q.astype(np.int64), ts) for q, ts in events]
    every = np.concatenate([q for q, _ in events])
    while top and (every % 10 == 0).all():  # "101.0": the counts' lattice is on the scale of whole units
        top, every, events = top - 1, every // 10, [(q // 10, ts) for q, ts in events]
    found = fine_lattice.detect_fine(every)
    if found is None:
        return ()
    spec = FieldSpec("", "number", lattice=(top, *found))
    on = [(spec.counts(q), ts) for q, ts in events]
    fits = [(k, ts) for (k, ok), ts in on if ok.all()]
    center_k = int(spec.counts(np.asarray([center_on(center, top)]))[0][0])
    prior = fit_prior(
        [
            [(k - center_k).astype(np.float64) for k, _ in fits],
            [(k - spec.counts(np.full(len(k), ts, np.int64))[0]).astype(np.float64) for k, ts in fits],
        ],
        lag,
    )
    return (top, *found), prior, (len(fits), len(on) - len(fits))


def _aligned(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, int]:
    """One event's mantissas on its finest decimal scale, as the coder aligns them (float64: for fitting)."""
    m = np.asarray([x[0] for x in pairs], np.int64)
    d = np.asarray([x[1] for x in pairs], np.int64)
    aligned = align(m, d)
    return (m.astype(np.float64), 0) if aligned is None else (aligned[0].astype(np.float64), aligned[1])


def _find_clock(specs: Sequence[FieldSpec], objects: _Objects) -> str:
    """The exact integer field closest to the record timestamps, if it is much closer to them than to its
    own center (a producer's timestamp, in the record timestamps' unit)."""
    best = ("", np.inf)
    for spec in specs:
        if spec.kind != "number" or spec.lossy or not spec.integer:
            continue
        pairs = [(float(obj[spec.name]), ts) for _, obj, ts in objects if isinstance(obj.get(spec.name), Num)]
        if not pairs:
            continue
        v = np.asarray(pairs, dtype=np.float64)
        near = float(np.median(np.abs(v[:, 0] - v[:, 1])))
        spread = float(np.median(np.abs(v[:, 0] - spec.center)))
        if near * 16 < spread and near < best[1]:
            best = (spec.name, near)
    return best[0]


_READING_DISTINCT = 32


def _monotone(name: str, objects: _Objects) -> bool:
    """True if the field's values never decrease along a key (an array's values in order, then the next
    event's): a counter or a timestamp."""
    last: dict[bytes | None, float] = {}
    for key, obj, _ in objects:
        v = obj.get(name)
        for x in v if isinstance(v, list) else [v]:
            if isinstance(x, Num):
                if float(x) < last.get(key, -np.inf):
                    return False
                last[key] = float(x)
    return True


def _is_array(v: Any) -> bool:
    return isinstance(v, list) and all(_is_number(x) for x in v)


def _train_zstd(samples: list[bytes]) -> bytes:
    """A zstd dictionary from sample values: trained when there are enough of them, else raw content."""
    if not samples:
        return b""
    try:
        trained = zstandard.train_dictionary(ZSTD_DICT_BYTES, samples[:5000])
        return trained.as_bytes()
    except zstandard.ZstdError:
        return b"".join(samples)[-ZSTD_DICT_BYTES:]
