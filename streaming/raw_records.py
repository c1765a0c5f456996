"""Raw records as the bridges see them: JSON objects or little-endian float32 arrays. Bytes only, no Kafka.

A :class:`RecordFormat` says which values of a raw record are compressed:

* ``f32``: the whole value is ``D`` little-endian float32 numbers.
* ``json`` with ``fields=("a", "b", ...)``: those numeric fields, in that order, form the record.
* ``json`` with ``array_field="values"``: that field holds the record as a list of numbers.

Everything else in a JSON object (ids, timestamps, strings, nested objects) travels exactly, in the
``latentwire.fields`` Kafka header (see "Bridge headers" in ``docs/wire-format.md``)::

    {"v": 1, "fields": ["a", "b"], "order": ["id", "a", "ts", "b"], "rest": {"id": 7, "ts": "..."}}
    {"v": 1, "array": "values", "order": ["id", "values"], "rest": {"id": 7}}

so the compressed value stays a plain envelope and :func:`restore` rebuilds the original object, key
order included, with the numbers replaced by the decoded ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from compressor.errors import ConfigError, DataError, NotNumericError, ShapeError
from compressor.validation import as_record

__all__ = ["FIELDS_HEADER", "ParsedRecord", "RecordFormat", "restore"]

#: the Kafka header that carries the untouched fields of a JSON record and the field mapping
FIELDS_HEADER = "latentwire.fields"
HEADER_VERSION = 1
_MAX_HEADER_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """One raw record read by :meth:`RecordFormat.parse`.

    Arguments:
        values (np.ndarray): ``(D,)`` float32.
        header (bytes | None): the ``latentwire.fields`` header value (None for f32 records).
    """

    values: np.ndarray
    header: bytes | None


@dataclass(frozen=True)
class RecordFormat:
    """How raw records on a topic are read: JSON objects or little-endian float32 arrays.

    Arguments:
        input_format (str): ``"json"`` or ``"f32"``. Default: ``"json"``.
        fields (tuple[str, ...]): numeric JSON fields, in record order (JSON: this or ``array_field``).
            Default: none.
        array_field (str | None): JSON field holding the record as an array. Default: None.
    """

    input_format: str = "json"
    fields: tuple[str, ...] = ()
    array_field: str | None = None

    def __post_init__(self) -> None:
        if self.input_format not in ("json", "f32"):
            raise ConfigError(f"input format must be json or f32, got {self.input_format!r}")
        if self.input_format == "json" and bool(self.fields) == bool(self.array_field):
            raise ConfigError("JSON records need exactly one of --fields a,b,c or --array-field NAME")
        if self.input_format == "f32" and (self.fields or self.array_field):
            raise ConfigError("--fields and --array-field apply to --input-format json only")
        if len(set(self.fields)) != len(self.fields):
            raise ConfigError(f"--fields names a field twice: {','.join(self.fields)}")

    def parse(self, value: bytes | None, record_size: int, *, allow_non_finite: bool = False) -> ParsedRecord:
        """One raw Kafka value as a record; raise a :class:`DataError` saying what is wrong."""
        if value is None:
            raise DataError("a tombstone (null value) holds no record")
        if self.input_format == "f32":
            if len(value) % 4:
                raise ShapeError(f"a float32 record must be a multiple of 4 bytes, got {len(value)}")
            arr = np.frombuffer(value, dtype="<f4")
            return ParsedRecord(as_record(arr, record_size, allow_non_finite=allow_non_finite), None)
        try:
            obj = json.loads(value)
        except (UnicodeDecodeError, ValueError) as exc:
            raise NotNumericError(f"record is not valid JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise NotNumericError(f"a JSON record must be an object, got {type(obj).__name__}")
        if self.array_field is not None:
            if self.array_field not in obj:
                raise ShapeError(f"record has no field {self.array_field!r}")
            data = obj[self.array_field]
            if not isinstance(data, list):
                raise NotNumericError(
                    f"field {self.array_field!r} must be an array, got {type(data).__name__}"
                )
            taken: Sequence[str] = (self.array_field,)
        else:
            missing = [f for f in self.fields if f not in obj]
            if missing:
                raise ShapeError(f"record lacks field(s) {', '.join(missing)}")
            data = [obj[f] for f in self.fields]
            taken = self.fields
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in data):
            bad = next(v for v in data if isinstance(v, bool) or not isinstance(v, int | float))
            raise NotNumericError(f"compressed fields must be numbers, got {bad!r}")
        values = as_record(data, record_size, allow_non_finite=allow_non_finite)
        header: dict[str, Any] = {"v": HEADER_VERSION}
        if self.array_field is not None:
            header["array"] = self.array_field
        else:
            header["fields"] = list(self.fields)
        header["order"] = list(obj)
        header["rest"] = {k: v for k, v in obj.items() if k not in taken}
        return ParsedRecord(values, json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode())


def _number(v: np.float32) -> float | None:
    """The shortest decimal that reads back as the same float32 (``NaN``/``Inf`` become null)."""
    f = float(str(v))
    return f if np.isfinite(f) else None


def restore(values: np.ndarray, header: bytes | None) -> bytes:
    """The raw value a decompress bridge publishes: JSON rebuilt from ``header``, or float32 bytes."""
    if header is None:
        return np.asarray(values, dtype="<f4").tobytes()
    if len(header) > _MAX_HEADER_BYTES:
        raise DataError(f"{FIELDS_HEADER} header of {len(header)} bytes is too large")
    try:
        meta = json.loads(header)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{FIELDS_HEADER} header is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("v") != HEADER_VERSION:
        raise DataError(f"{FIELDS_HEADER} header has an unsupported layout (want v={HEADER_VERSION})")
    rest, order = meta.get("rest", {}), meta.get("order")
    numbers = [_number(v) for v in np.asarray(values, np.float32)]
    decoded: dict[str, Any]
    if "array" in meta:
        decoded = {str(meta["array"]): numbers}
    else:
        fields = meta.get("fields")
        if not isinstance(fields, list) or len(fields) != len(numbers):
            raise DataError(f"{FIELDS_HEADER} names {fields!r} but the record holds {len(numbers)} values")
        decoded = dict(zip(fields, numbers, strict=True))
    if not isinstance(rest, dict) or not isinstance(order, list):
        raise DataError(f"{FIELDS_HEADER} header lacks its 'rest' object or 'order' list")
    out = {k: decoded[k] if k in decoded else rest.get(k) for k in order}
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
