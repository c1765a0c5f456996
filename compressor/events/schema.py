"""The schema of an event topic, learned from sample events: fields, their coding, layouts, dictionaries.

Learned at training (``EventSchema.learn``) and kept in the model bundle as plain JSON (``to_dict``):

* ``fields``: every top-level field seen, in order of first appearance, with its kind: ``number`` (a
  scalar JSON number), ``numbers`` (an array of numbers) or ``token`` (anything else: strings, booleans,
  nulls, nested values). Number fields say whether they are ``lossy`` (a value with a fraction or an
  exponent was seen: readings; integer fields such as counters and timestamps stay exact), their training
  ``center`` and value ``range`` (the error bound is relative to it), the usual array length ``lag``, and
  a token dictionary for values of another type; for small payloads (an event alone) the predictor that
  fitted the training events and the size of its residuals (a :class:`~compressor.events.numbers.Prior`),
  how often a value was regular, and the usual number of decimals (and how often it held).
* ``clock``: the integer field that follows the record timestamps (a ``ts`` written by the producer), if
  any: it is coded before the record timestamps, which are then sent as their distance to it.
* ``layouts``: the key orders seen, with counts; ``styles``: how often each JSON spelling was seen.
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

from compressor.errors import ConfigError
from compressor.events.event import Event
from compressor.events.jsontext import STYLES, Num, dump, find_style, parse, split_decimal
from compressor.events.numbers import Prior, align, center_on, fit_prior
from compressor.events.tokens import TokenDictionary

__all__ = ["TOMBSTONE", "WHOLE", "EventSchema", "FieldSpec", "header_token", "key_token", "token_of"]

FORMAT = "latentwire-event-schema"
#: version 2: payload layout 2 (priors, clock field, line predictor); version 1 is no longer read
FORMAT_VERSION = 2
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

    def to_dict(self) -> dict:
        return {
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

    @classmethod
    def from_dict(cls, d: dict) -> FieldSpec:
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
        )


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
    """

    fields: tuple[FieldSpec, ...]
    layouts: tuple[tuple[str, ...], ...]
    layout_counts: tuple[int, ...]
    style_counts: tuple[int, ...]
    keys: TokenDictionary
    headers: TokenDictionary
    zstd_dict: bytes = b""
    clock: str = ""

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
        for ev in events:
            runs[ev.key].append(ev)
            if ev.value is None:
                styles[TOMBSTONE] += 1
                continue
            try:
                obj = parse(ev.value)
            except ValueError:
                obj = None
            style = find_style(ev.value, obj) if isinstance(obj, dict) else None
            if style is None:
                styles[WHOLE] += 1
                continue
            styles[style] += 1
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
        )

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "fields": [f.to_dict() for f in self.fields],
            "layouts": [list(layout) for layout in self.layouts],
            "layout_counts": list(self.layout_counts),
            "style_counts": list(self.style_counts),
            "keys": self.keys.to_dict(),
            "headers": self.headers.to_dict(),
            "zstd_dict": base64.b64encode(self.zstd_dict).decode(),
            "clock": self.clock,
        }

    @classmethod
    def from_dict(cls, d: dict) -> EventSchema:
        if d.get("format") == FORMAT and d.get("version") == 1:
            raise ConfigError(
                f"{FORMAT} version 1 (event payload layout 1) is no longer read by this consumer: "
                "retrain the event model (train --from-topic) and restart both bridges with it"
            )
        if d.get("format") != FORMAT or d.get("version") != FORMAT_VERSION:
            raise ConfigError(
                f"not a {FORMAT} version {FORMAT_VERSION}: {d.get('format')!r} {d.get('version')!r}"
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
    )


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
    last: dict[bytes | None, float] = {}
    for key, obj, _ in objects:
        v = obj.get(name)
        if isinstance(v, Num):
            x = float(v)
            if x < last.get(key, -np.inf):
                return False
            last[key] = x
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
