"""Turn a file into fixed-size numeric records, the unit the autoencoder compresses.

Supported inputs (dispatched by file name, IDX also by its magic bytes):

* ``.csv`` / ``.csv.gz``: a table with a header row (a first row that is all numeric is taken as data and
  the columns are named ``col0..``). Delimiter ``,`` ``;`` or tab, detected from the first line. Columns
  that are not numeric (timestamps, dates, string labels) are dropped; empty cells become NaN. Rows are cut
  into non-overlapping windows of ``window`` rows (default :data:`DEFAULT_WINDOW`), each flattened
  row-major, so ``record[k * C + c]`` is row ``k``, channel ``c``.
* ``.npy``: an ``(N, ...)`` array gives ``N`` records (trailing axes flattened); a 1-D array is one series,
  windowed like a one-column CSV. Never unpickled.
* IDX (``*-ubyte``, ``*.idx``, optionally ``.gz``): an ``(N, H, W)`` image file gives ``N`` records of the
  raw pixel values. Label files (1-D) are read by :func:`load_labels_idx`.

A final partial window is not a record: it is kept in :attr:`RecordSet.tail` so a producer can still send
it, padded by :func:`pad_tail`, while training and evaluation use only full windows.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np

from compressor.errors import ConfigError, DataError, NotNumericError, ShapeError

__all__ = ["DEFAULT_WINDOW", "RecordSet", "load_labels_idx", "load_records", "pad_tail"]

log = logging.getLogger(__name__)

#: rows per record for CSV files and 1-D ``.npy`` series when ``window`` is not given
DEFAULT_WINDOW = 128

SUPPORTED = ".csv, .csv.gz, .npy, IDX (*-ubyte, *.idx, optionally gzipped)"

_IDX_DTYPES: dict[int, str] = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True)
class RecordSet:
    """Full records read from one file, plus the partial window left over at its end.

    Arguments:
        records (np.ndarray): ``(N, D)`` float32, full records only.
        window (int): rows per record (1 for ``.npy`` rows and IDX images).
        channels (int): values per row; ``D == window * channels``.
        columns (tuple[str, ...]): channel names.
        tail (np.ndarray | None): final partial window, ``(r * channels,)`` float32 with ``r < window``,
            or None.
        source (str): file path as given.
        kind (str): ``"csv"``, ``"npy"`` or ``"idx"``.
        shape (tuple[int, ...]): natural shape of one record: ``(W, C)`` csv, ``(D,)`` npy, ``(H, W)`` idx.
    """

    records: np.ndarray
    window: int
    channels: int
    columns: tuple[str, ...]
    tail: np.ndarray | None
    source: str
    kind: str
    shape: tuple[int, ...]

    @property
    def record_size(self) -> int:
        """Number of values per record (``D``)."""
        return int(self.records.shape[1])

    @property
    def tail_length(self) -> int:
        """Number of values in :attr:`tail` (0 if there is none)."""
        return 0 if self.tail is None else int(self.tail.size)

    def __len__(self) -> int:
        return int(self.records.shape[0])

    def split(self, fraction: float) -> tuple[RecordSet, RecordSet]:
        """Split into the first ``floor(N * fraction)`` records and the rest, keeping their order.

        The tail goes with the second part (it follows the last record in the file).
        """
        if not 0.0 <= fraction <= 1.0 or math.isnan(fraction):
            raise ConfigError(f"split fraction must be in [0, 1], got {fraction!r}")
        cut = int(len(self) * fraction)
        first = replace(self, records=self.records[:cut], tail=None)
        rest = replace(self, records=self.records[cut:])
        return first, rest


def pad_tail(tail: np.ndarray, record_size: int, *, channels: int = 1) -> np.ndarray:
    """Pad a partial window to ``record_size`` values by repeating its last value (edge padding).

    With ``channels > 1`` the last *row* (last ``channels`` values) is repeated instead, so every channel
    keeps its own last value. Returns a new float32 vector.
    """
    flat = np.asarray(tail, dtype=np.float32).reshape(-1)
    if channels < 1 or record_size % channels or flat.size % channels:
        raise ShapeError(
            f"cannot pad a tail of {flat.size} values to {record_size} in rows of {channels} channel(s)"
        )
    if flat.size == 0:
        raise ShapeError("cannot pad an empty tail: there is no last value to repeat")
    if flat.size > record_size:
        raise ShapeError(f"tail has {flat.size} values, more than the record size {record_size}")
    rows = flat.reshape(-1, channels)
    padded = np.pad(rows, ((0, record_size // channels - rows.shape[0]), (0, 0)), mode="edge")
    return padded.reshape(-1).astype(np.float32, copy=False)


def load_records(
    path: str | Path,
    *,
    window: int | None = None,
    columns: Sequence[str] | None = None,
    max_records: int | None = None,
) -> RecordSet:
    """Read ``path`` into fixed-size float32 records (see the module docstring for the formats).

    ``window`` sets rows per record for CSV and 1-D ``.npy`` (default :data:`DEFAULT_WINDOW`; ignored, with
    a warning, for row-per-record formats). ``columns`` selects CSV columns by name, in the given order.
    ``max_records`` stops after that many full records (no tail is then reported).

    Raises :class:`DataError` (unreadable or unsupported file), :class:`NotNumericError` (no numeric data or
    a selected column that is not numeric) or :class:`ShapeError` (ragged rows, bad array shape).
    """
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise ConfigError(f"window must be a positive integer, got {window!r}")
    if max_records is not None and (not isinstance(max_records, int) or max_records < 0):
        raise ConfigError(f"max_records must be a non-negative integer, got {max_records!r}")
    p = Path(path)
    name = p.name.lower()
    if not p.is_file():
        raise DataError(f"{path}: no such file")
    if name.endswith((".csv", ".csv.gz")):
        return _load_csv(p, str(path), window or DEFAULT_WINDOW, columns, max_records)
    if columns is not None:
        raise DataError(f"{path}: columns= applies to CSV files only")
    if name.endswith(".npy"):
        return _load_npy(p, str(path), window, max_records)
    if _looks_like_idx(p):
        if window not in (None, 1):
            log.warning("%s: window=%s ignored, each IDX image is one record", path, window)
        return _load_idx_images(p, str(path), max_records)
    raise DataError(f"{path}: unsupported file type; supported: {SUPPORTED}")


def load_labels_idx(path: str | Path) -> np.ndarray:
    """Read an IDX label file (1-D, unsigned bytes, optionally gzipped) into a uint8 vector."""
    dtype, dims, fh = _open_idx(Path(path), str(path))
    with fh:
        if len(dims) != 1:
            raise DataError(f"{path}: IDX file has {len(dims)} dimensions {dims}; a label file has 1")
        if dtype != ">u1":
            raise NotNumericError(f"{path}: IDX labels must be unsigned bytes (code 0x08), got {dtype}")
        return _read_idx_body(fh, str(path), dtype, dims[0], 1)


# --------------------------------------------------------------------------------------------- CSV


def _open_text(p: Path) -> IO[str]:
    raw: IO[bytes] = gzip.open(p, "rb") if p.name.lower().endswith(".gz") else open(p, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _parse_column(values: Sequence[str]) -> tuple[np.ndarray | None, int]:
    """Column to float64, or ``(None, index of the first non-numeric value)``. Empty cells become NaN."""
    try:
        return np.array(values, dtype=np.float64), -1
    except ValueError:
        pass
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        s = v.strip()
        if not s:
            out[i] = np.nan
            continue
        try:
            out[i] = float(s)
        except ValueError:
            return None, i
    return out, -1


def _numeric_body(p: Path, delim: str, ncol: int, limit: int | None) -> np.ndarray | None:
    """Every row after the first line parsed in C, or None when a cell is not a plain number.

    The common all-numeric file takes this path (0.3 s for 650,000 x 2 rows where the row-by-row
    reader below takes 4 s); anything else (empty cells, text, ragged rows) returns None and goes
    through the reader that names the offending line.
    """
    try:
        with _open_text(p) as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": an empty body
            fh.readline()
            table = np.loadtxt(
                fh, delimiter=delim, dtype=np.float64, ndmin=2, max_rows=limit, comments=None, quotechar='"'
            )
    except (ValueError, OSError, UnicodeDecodeError, EOFError):
        return None
    return table if table.shape[1] == ncol and table.shape[0] > 0 else None


def _load_csv(
    p: Path, source: str, window: int, columns: Sequence[str] | None, max_records: int | None
) -> RecordSet:
    # max_records=0 still reads one window, so that the columns can be typed
    limit = None if max_records is None else max(max_records, 1) * window
    fast = _load_numeric_csv(p, source, window, columns, limit)
    if fast is not None:
        return replace(fast, records=fast.records[:0], tail=None) if max_records == 0 else fast
    try:
        with _open_text(p) as fh:
            first = fh.readline()
            counts = {d: first.count(d) for d in (",", ";", "\t")}
            delim = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
            reader = csv.reader(fh, delimiter=delim)
            header = next(csv.reader([first], delimiter=delim), [])
            if not header:
                raise DataError(f"{source}: empty file (no header row)")
            ncol = len(header)
            first_line = 2
            rows: list[list[str]] = []
            lines: list[int] = []
            if all(h.strip() and _is_float(h) for h in header):
                log.info("%s: first row is numeric, reading without header", source)
                rows.append(header)
                lines.append(1)
                header = [f"col{i}" for i in range(ncol)]
                first_line = 1
            for row in reader:
                if limit is not None and len(rows) >= limit:
                    break  # rows past the last wanted record are never parsed
                if not row:
                    continue
                if len(row) != ncol:
                    raise ShapeError(
                        f"{source}, line {reader.line_num + 1}: {len(row)} fields, the header has {ncol}"
                    )
                rows.append(row)
                lines.append(reader.line_num + 1)
    except (OSError, UnicodeDecodeError, csv.Error, EOFError) as exc:
        raise DataError(f"{source}: cannot read as CSV: {exc}") from exc
    if limit is not None:
        del rows[limit:]
    if not rows:
        raise DataError(f"{source}: no data rows after line {first_line - 1}")
    names = [h.strip() for h in header]
    by_name = {n: i for i, n in reversed(list(enumerate(names)))}
    cells = list(zip(*rows, strict=True))
    del rows
    if columns is not None:
        wanted = [str(c) for c in columns]
        if not wanted:
            raise DataError(f"{source}: columns= is empty")
        missing = [c for c in wanted if c not in by_name]
        if missing:
            raise DataError(f"{source}: no column(s) {missing}; columns are {names}")
        picked: list[tuple[str, np.ndarray]] = []
        for c in wanted:
            j = by_name[c]
            arr, bad = _parse_column(cells[j])
            if arr is None:
                raise NotNumericError(
                    f"{source}, line {lines[bad]}, column {j + 1} {c!r}: {cells[j][bad]!r} is not a number"
                )
            picked.append((c, arr))
    else:
        picked = []
        dropped: list[str] = []
        for j, c in enumerate(names):
            arr, bad = _parse_column(cells[j])
            if arr is None:
                dropped.append(f"{c!r} (line {lines[bad]}: {cells[j][bad]!r})")
            elif np.isnan(arr).all():
                dropped.append(f"{c!r} (empty)")
            else:
                picked.append((c or f"col{j}", arr))
        if dropped:
            log.info("%s: dropped non-numeric column(s): %s", source, ", ".join(dropped))
        if not picked:
            raise NotNumericError(f"{source}: no numeric column among {names}")
    table = np.column_stack([a for _, a in picked]).astype(np.float32)
    rs = _windowed(table, window, tuple(c for c, _ in picked), source, "csv")
    return replace(rs, records=rs.records[:0], tail=None) if max_records == 0 else rs


def _load_numeric_csv(
    p: Path, source: str, window: int, columns: Sequence[str] | None, limit: int | None
) -> RecordSet | None:
    """The fast path of ``_load_csv``: a header row of names and numbers only below it, or None."""
    try:
        with _open_text(p) as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError, EOFError):
        return None
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    delim = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    header = next(csv.reader([first], delimiter=delim), [])
    names = [h.strip() for h in header]
    if not names or all(n and _is_float(n) for n in names):
        return None  # no header, or a numeric first row: the row reader handles both
    table = _numeric_body(p, delim, len(names), limit)
    if table is None:
        return None
    if columns is None:
        keep = [j for j in range(len(names)) if not np.isnan(table[:, j]).all()]
        if len(keep) < len(names):
            return None  # all-empty columns are dropped with a message by the row reader
        picked = [(names[j] or f"col{j}", j) for j in keep]
    else:
        by_name = {n: i for i, n in reversed(list(enumerate(names)))}
        wanted = [str(c) for c in columns]
        if not wanted or any(c not in by_name for c in wanted):
            return None  # the row reader raises the error that names the column
        picked = [(c, by_name[c]) for c in wanted]
    data = np.ascontiguousarray(table[:, [j for _, j in picked]], dtype=np.float32)
    return _windowed(data, window, tuple(c for c, _ in picked), source, "csv")


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _windowed(table: np.ndarray, window: int, names: tuple[str, ...], source: str, kind: str) -> RecordSet:
    """Cut a ``(rows, C)`` table into non-overlapping windows of ``window`` rows, flattened row-major.

    With ``max_records`` the caller reads at most ``max_records * window`` rows, so a tail only appears
    when the file really ends in a partial window.
    """
    nrows, nch = table.shape
    n = nrows // window
    records = np.ascontiguousarray(table[: n * window].reshape(n, window * nch), dtype=np.float32)
    rest = nrows - n * window
    tail = None
    if rest:
        tail = np.ascontiguousarray(table[n * window :].reshape(-1), dtype=np.float32)
        log.info("%s: %d trailing row(s) kept as a partial window (tail), not a record", source, rest)
    if n == 0:
        log.warning("%s: %d row(s) is less than one window of %d", source, nrows, window)
    log.debug("%s: %d records of %d x %d", source, n, window, nch)
    return RecordSet(records, window, nch, names, tail, source, kind, (window, nch))


# --------------------------------------------------------------------------------------------- NPY


def _load_npy(p: Path, source: str, window: int | None, max_records: int | None) -> RecordSet:
    try:
        with open(p, "rb") as fh:
            major, _ = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fh)
    except (OSError, ValueError) as exc:
        raise DataError(f"{source}: not a valid .npy file: {exc}") from exc
    if dtype.hasobject or not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
        raise NotNumericError(f"{source}: .npy dtype {dtype} is not numeric")
    if np.issubdtype(dtype, np.complexfloating):
        raise NotNumericError(f"{source}: .npy dtype {dtype} is complex, records must be real")
    if len(shape) == 0:
        raise ShapeError(f"{source}: .npy holds a scalar, expected (N, D) or a 1-D series")
    try:
        arr = np.load(p, mmap_mode="r" if max_records is not None else None, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{source}: cannot load .npy: {exc}") from exc
    if arr.ndim == 1:
        w = window or DEFAULT_WINDOW
        if max_records is not None:
            arr = arr[: max_records * w]
        table = np.asarray(arr, dtype=np.float32).reshape(-1, 1)
        return _windowed(table, w, ("x0",), source, "npy")
    if window not in (None, 1):
        log.warning("%s: window=%s ignored, each row of a %d-D array is one record", source, window, arr.ndim)
    if max_records is not None:
        arr = arr[:max_records]
    d = int(np.prod(shape[1:]))
    records = np.ascontiguousarray(np.asarray(arr, dtype=np.float32).reshape(arr.shape[0], d))
    names = tuple(f"x{i}" for i in range(d))
    return RecordSet(records, 1, d, names, None, source, "npy", (d,))


# --------------------------------------------------------------------------------------------- IDX


def _open_binary(p: Path) -> IO[bytes]:
    fh = open(p, "rb")
    if fh.read(2) == b"\x1f\x8b":
        fh.close()
        return gzip.open(p, "rb")
    fh.seek(0)
    return fh


def _looks_like_idx(p: Path) -> bool:
    name = p.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(("-ubyte", ".idx")) or ".idx" in name:
        return True
    try:  # unknown extension: accept it only if it starts with a plausible IDX magic
        with _open_binary(p) as fh:
            magic = fh.read(4)
    except (OSError, EOFError, gzip.BadGzipFile):
        return False
    return len(magic) == 4 and magic[:2] == b"\0\0" and magic[2] in _IDX_DTYPES and 1 <= magic[3] <= 4


def _open_idx(p: Path, source: str) -> tuple[str, tuple[int, ...], IO[bytes]]:
    """Open an IDX file and read its header: ``(big-endian dtype, dims, stream at the first value)``."""
    if not p.is_file():
        raise DataError(f"{source}: no such file")
    fh = _open_binary(p)
    try:
        magic = fh.read(4)
        if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _IDX_DTYPES or magic[3] == 0:
            raise DataError(f"{source}: not an IDX file (magic bytes {magic.hex() or 'missing'})")
        ndim = magic[3]
        raw = fh.read(4 * ndim)
        if len(raw) < 4 * ndim:
            raise DataError(f"{source}: IDX header cut short ({ndim} dimensions announced)")
        return _IDX_DTYPES[magic[2]], struct.unpack(f">{ndim}I", raw), fh
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        fh.close()
        raise DataError(f"{source}: cannot read IDX file: {exc}") from exc
    except DataError:
        fh.close()
        raise


def _read_idx_body(fh: IO[bytes], source: str, dtype: str, n: int, per_item: int) -> np.ndarray:
    """Read ``n`` items of ``per_item`` values each, as a flat native-endian vector."""
    want = n * per_item * np.dtype(dtype).itemsize
    try:
        buf = fh.read(want)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{source}: cannot read IDX data: {exc}") from exc
    if len(buf) < want:
        raise DataError(f"{source}: IDX data cut short: {len(buf)} of {want} bytes")
    return np.frombuffer(buf, dtype=dtype).astype(np.dtype(dtype).newbyteorder("="))


def _load_idx_images(p: Path, source: str, max_records: int | None) -> RecordSet:
    dtype, dims, fh = _open_idx(p, source)
    with fh:
        if len(dims) == 1:
            raise DataError(
                f"{source}: IDX file is 1-D ({dims[0]} values), a label file; use load_labels_idx"
            )
        n = dims[0] if max_records is None else min(dims[0], max_records)
        d = int(np.prod(dims[1:]))
        values = _read_idx_body(fh, source, dtype, n, d)
    records = values.reshape(n, d).astype(np.float32)
    shape = tuple(int(x) for x in dims[1:])
    log.debug("%s: %d IDX records of shape %s", source, n, shape)
    # one channel: every pixel shares one normalization (per-pixel statistics blow up near-constant borders)
    return RecordSet(records, d, 1, ("pixel",), None, source, "idx", shape)
