"""JSON events as text: parse keeping every number's own spelling, and write them back byte for byte.

An event is parsed with :func:`parse` into Python values whose numbers are :class:`Num` (a ``str`` holding
the number's exact text), so nothing about a number's spelling (``21.50``, ``1e3``, ``-0``) is lost.
:func:`dump` writes a value back in one :data:`STYLES` entry (separators and ASCII escaping); an event
whose original bytes one style reproduces exactly is *regular* and can be coded field by field, any other
event is carried whole. :func:`flatten` turns nested objects into fields of their own (``{"a": {"b": 1}}``
has the field ``a<SEP>b``), and :func:`unflatten` rebuilds them, key order included.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "SEP",
    "STYLES",
    "dump",
    "find_style",
    "flatten",
    "join_decimal",
    "parse",
    "split_decimal",
    "unflatten",
]

#: (item separator, key separator, ensure_ascii): compact (most services), then Python's json.dumps defaults
STYLES: tuple[tuple[str, str, bool], ...] = (
    (",", ":", False),
    (", ", ": ", True),
    (",", ":", True),
    (", ", ": ", False),
)

_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?\Z")


#: joins the keys of a nested field's path (a control character: keys that hold it are not flattened)
SEP = "\x1f"


def flatten(obj: dict) -> dict | None:
    """``obj`` with every non-empty nested object's members as fields of their own, keyed by their path
    joined with :data:`SEP`, in document order; None when a key holds :data:`SEP` (the event is then not
    flattened). Empty objects and objects inside arrays stay values."""
    out: dict = {}
    for key, value in obj.items():
        if SEP in key:
            return None
        if isinstance(value, dict) and value:
            inner = flatten(value)
            if inner is None:
                return None
            out.update((key + SEP + k, v) for k, v in inner.items())
        else:
            out[key] = value
    return out


def unflatten(flat: dict) -> dict:
    """The nested object :func:`flatten` made ``flat`` of (consecutive paths share their objects)."""
    out: dict = {}
    for path, value in flat.items():
        *parents, last = path.split(SEP)
        node = out
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ValueError(f"field {path!r} is inside a value that is not an object")
        node[last] = value
    return out


class Num(str):
    """A JSON number kept as its exact text."""

    __slots__ = ()


def parse(raw: bytes) -> Any:
    """The JSON value of ``raw`` with numbers as :class:`Num`; raises ``ValueError`` if it is not JSON."""
    return json.loads(raw, parse_float=Num, parse_int=Num, parse_constant=_reject)


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def dump(value: Any, style: tuple[str, str, bool]) -> str:
    """``value`` as JSON text in ``style``; :class:`Num` values are written as their own text."""
    item_sep, key_sep, ascii_only = style
    if isinstance(value, Num):
        return str.__str__(value)
    if isinstance(value, dict):
        return (
            "{"
            + item_sep.join(
                json.dumps(k, ensure_ascii=ascii_only) + key_sep + dump(v, style) for k, v in value.items()
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + item_sep.join(dump(v, style) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def find_style(raw: bytes, obj: Any) -> int | None:
    """The index of the first style that writes ``obj`` back as exactly ``raw``, else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    for i, style in enumerate(STYLES):
        if dump(obj, style) == text:
            return i
    return None


def split_decimal(text: str) -> tuple[int, int] | None:
    """A plain decimal's (mantissa, decimals) with ``join_decimal`` giving the text back, else None."""
    if not _DECIMAL.match(text):
        return None
    whole, _, frac = text.partition(".")
    pair = int(whole + frac), len(frac)
    return pair if join_decimal(*pair) == text else None  # "-0" and "-0.0" lose their sign


def join_decimal(mantissa: int, decimals: int) -> str:
    """The text of ``mantissa * 10**-decimals`` with exactly ``decimals`` digits after the point."""
    digits = str(abs(mantissa)).rjust(decimals + 1, "0")
    sign = "-" if mantissa < 0 else ""
    return sign + (digits[:-decimals] + "." + digits[-decimals:] if decimals else digits)
