"""Tests for compressor.data: CSV / .npy / IDX files to fixed-size records."""

from __future__ import annotations

import gzip
import logging
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from compressor.data import DEFAULT_WINDOW, RecordSet, load_labels_idx, load_records, pad_tail
from compressor.errors import ConfigError, DataError, NotNumericError, ShapeError

DATA_DIR = Path(
    os.environ.get("LATENTWIRE_DATA_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)


def shared(rel: str) -> Path:
    p = DATA_DIR / rel
    if not p.is_file():
        pytest.skip(f"shared data file {rel} not found under {DATA_DIR} (set LATENTWIRE_DATA_DIR)")
    return p


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def idx_bytes(code: int, dims: tuple[int, ...], values: np.ndarray) -> bytes:
    head = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    return head + values.tobytes()


# --------------------------------------------------------------------------------------------- CSV


def test_csv_windows_are_row_major(tmp_path: Path) -> None:
    lines = ["a,b"] + [f"{k},{100 + k}" for k in range(7)]
    rs = load_records(write(tmp_path / "t.csv", "\n".join(lines) + "\n"), window=3)
    assert isinstance(rs, RecordSet)
    assert rs.kind == "csv" and rs.columns == ("a", "b") and rs.window == 3 and rs.channels == 2
    assert rs.shape == (3, 2) and rs.record_size == 6
    assert rs.records.dtype == np.float32 and rs.records.shape == (2, 6)
    np.testing.assert_array_equal(rs.records[0], [0, 100, 1, 101, 2, 102])
    np.testing.assert_array_equal(rs.records[1], [3, 103, 4, 104, 5, 105])
    for k in range(3):  # record[k*C + c] == row k, channel c
        assert rs.records[1][k * 2 + 1] == 100 + 3 + k
    assert rs.tail is not None and rs.tail.dtype == np.float32
    np.testing.assert_array_equal(rs.tail, [6, 106])
    assert rs.tail_length == 2
    assert rs.source == str(tmp_path / "t.csv")


def test_csv_default_window(tmp_path: Path) -> None:
    body = "v\n" + "\n".join(str(i) for i in range(2 * DEFAULT_WINDOW)) + "\n"
    rs = load_records(write(tmp_path / "d.csv", body))
    assert DEFAULT_WINDOW == 128
    assert rs.records.shape == (2, 128) and rs.tail is None and rs.tail_length == 0


def test_csv_non_numeric_columns_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = (
        "time,x,label,y\n2020-01-01 00:00,1.5,up,\n2020-01-01 00:01,nan,down,4\n2020-01-01 00:02,NaN,up,5\n"
    )
    with caplog.at_level(logging.INFO, logger="compressor.data"):
        rs = load_records(write(tmp_path / "m.csv", text), window=3)
    assert rs.columns == ("x", "y")
    assert "time" in caplog.text and "label" in caplog.text
    r = rs.records[0]
    assert r[0] == 1.5 and np.isnan(r[1]) and np.isnan(r[2]) and r[3] == 4 and np.isnan(r[4]) and r[5] == 5


def test_csv_headerless(tmp_path: Path) -> None:
    rs = load_records(write(tmp_path / "h.csv", "1,2\n3,4\n5,6\n7,8\n"), window=2)
    assert rs.columns == ("col0", "col1")
    np.testing.assert_array_equal(rs.records, [[1, 2, 3, 4], [5, 6, 7, 8]])


def test_csv_semicolon_and_tab(tmp_path: Path) -> None:
    rs = load_records(write(tmp_path / "s.csv", "a;b;c\n1;2;3\n4;5;6\n"), window=2)
    assert rs.columns == ("a", "b", "c")
    np.testing.assert_array_equal(rs.records, [[1, 2, 3, 4, 5, 6]])
    rt = load_records(write(tmp_path / "t.csv", "a\tb\n1\t2\n3\t4\n"), window=1)
    np.testing.assert_array_equal(rt.records, [[1, 2], [3, 4]])


def test_csv_gz(tmp_path: Path) -> None:
    p = tmp_path / "z.csv.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("a,b\n1,2\n3,4\n")
    np.testing.assert_array_equal(load_records(p, window=2).records, [[1, 2, 3, 4]])


def test_tail_kept_and_padded(tmp_path: Path) -> None:
    body = "a,b\n" + "\n".join(f"{i},{-i}" for i in range(10)) + "\n"
    rs = load_records(write(tmp_path / "p.csv", body), window=4)
    assert rs.records.shape == (2, 8)
    assert rs.tail is not None and rs.tail_length == 4
    np.testing.assert_array_equal(rs.tail, [8, -8, 9, -9])
    padded = pad_tail(rs.tail, rs.record_size)
    assert padded.dtype == np.float32 and padded.shape == (8,)
    np.testing.assert_array_equal(padded, [8, -8, 9, -9, -9, -9, -9, -9])
    per_row = pad_tail(rs.tail, rs.record_size, channels=2)
    np.testing.assert_array_equal(per_row, [8, -8, 9, -9, 9, -9, 9, -9])
    np.testing.assert_array_equal(pad_tail(np.array([1.0, 2.0]), 2), [1, 2])
    with pytest.raises(ShapeError):
        pad_tail(np.array([], dtype=np.float32), 4)
    with pytest.raises(ShapeError):
        pad_tail(np.arange(5.0), 4)


def test_max_records(tmp_path: Path) -> None:
    body = "a\n" + "\n".join(str(i) for i in range(11)) + "\n"
    p = write(tmp_path / "n.csv", body)
    rs = load_records(p, window=2, max_records=3)
    np.testing.assert_array_equal(rs.records, [[0, 1], [2, 3], [4, 5]])
    assert rs.tail is None
    assert load_records(p, window=2, max_records=100).records.shape == (5, 2)
    assert load_records(p, window=2, max_records=0).records.shape == (0, 2)


def test_columns_selection_and_errors(tmp_path: Path) -> None:
    p = write(tmp_path / "c.csv", "t,a,b,c\nx,1,2,3\ny,4,5,6\n")
    rs = load_records(p, window=1, columns=["c", "a"])
    assert rs.columns == ("c", "a")
    np.testing.assert_array_equal(rs.records, [[3, 1], [6, 4]])
    with pytest.raises(DataError, match="'nope'"):
        load_records(p, columns=["a", "nope"])
    with pytest.raises(NotNumericError, match=r"line 2.*'t'"):
        load_records(p, columns=["t"])


def test_csv_errors(tmp_path: Path) -> None:
    with pytest.raises(NotNumericError, match="no numeric column"):
        load_records(write(tmp_path / "s.csv", "name,kind\nx,y\n"))
    with pytest.raises(ShapeError, match="line 3"):
        load_records(write(tmp_path / "r.csv", "a,b\n1,2\n3\n"))
    with pytest.raises(DataError, match="no data rows"):
        load_records(write(tmp_path / "e.csv", "a,b\n"))
    with pytest.raises(DataError, match="empty"):
        load_records(write(tmp_path / "z.csv", ""))
    with pytest.raises(DataError, match="no such file"):
        load_records(tmp_path / "missing.csv")
    with pytest.raises(DataError, match=r"\.csv.*\.npy"):
        load_records(write(tmp_path / "x.txt", "a\n1\n"))
    with pytest.raises(ConfigError):
        load_records(write(tmp_path / "w.csv", "a\n1\n"), window=0)


def test_split(tmp_path: Path) -> None:
    body = "a\n" + "\n".join(str(i) for i in range(23)) + "\n"
    rs = load_records(write(tmp_path / "s.csv", body), window=2)
    first, rest = rs.split(0.5)
    assert len(first.records) == 5 and len(rest.records) == 6
    np.testing.assert_array_equal(first.records[-1], [8, 9])
    np.testing.assert_array_equal(rest.records[0], [10, 11])
    assert first.tail is None and rest.tail is not None and rest.tail_length == 1
    assert first.columns == rs.columns and rest.window == 2
    with pytest.raises(ConfigError):
        rs.split(1.5)


# --------------------------------------------------------------------------------------------- NPY


def test_npy_2d_and_nd(tmp_path: Path) -> None:
    a = np.arange(12, dtype=np.int64).reshape(4, 3)
    np.save(tmp_path / "a.npy", a)
    rs = load_records(tmp_path / "a.npy")
    assert rs.kind == "npy" and rs.window == 1 and rs.channels == 3 and rs.shape == (3,)
    assert rs.columns == ("x0", "x1", "x2") and rs.tail is None
    assert rs.records.dtype == np.float32
    np.testing.assert_array_equal(rs.records, a)
    np.save(tmp_path / "b.npy", np.ones((5, 2, 3), dtype=np.float64))
    rb = load_records(tmp_path / "b.npy", max_records=2)
    assert rb.records.shape == (2, 6) and rb.record_size == 6


def test_npy_1d_series(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", np.arange(10, dtype=np.float32))
    rs = load_records(tmp_path / "s.npy", window=4)
    assert rs.window == 4 and rs.channels == 1 and rs.shape == (4, 1) and rs.columns == ("x0",)
    np.testing.assert_array_equal(rs.records, [[0, 1, 2, 3], [4, 5, 6, 7]])
    assert rs.tail is not None
    np.testing.assert_array_equal(rs.tail, [8, 9])


def test_npy_non_numeric_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "o.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    with pytest.raises(NotNumericError, match="object"):
        load_records(tmp_path / "o.npy")
    np.save(tmp_path / "u.npy", np.array(["a", "b"]))
    with pytest.raises(NotNumericError):
        load_records(tmp_path / "u.npy")
    (tmp_path / "bad.npy").write_bytes(b"not an npy file at all")
    with pytest.raises(DataError):
        load_records(tmp_path / "bad.npy")


# --------------------------------------------------------------------------------------------- IDX


def test_idx_round_trip_plain_and_gz(tmp_path: Path) -> None:
    imgs = np.arange(3 * 2 * 4, dtype=np.uint8).reshape(3, 2, 4) * 10
    raw = idx_bytes(0x08, (3, 2, 4), imgs)
    (tmp_path / "img-idx3-ubyte").write_bytes(raw)
    with gzip.open(tmp_path / "img-idx3-ubyte.gz", "wb") as fh:
        fh.write(raw)
    for name in ("img-idx3-ubyte", "img-idx3-ubyte.gz"):
        rs = load_records(tmp_path / name)
        assert rs.kind == "idx" and rs.shape == (2, 4) and rs.window == 8 and rs.channels == 1
        assert rs.columns == ("pixel",) and rs.tail is None and rs.records.dtype == np.float32
        np.testing.assert_array_equal(rs.records, imgs.reshape(3, 8))
    assert load_records(tmp_path / "img-idx3-ubyte.gz", max_records=2).records.shape == (2, 8)


def test_idx_other_dtype_and_magic_detection(tmp_path: Path) -> None:
    vals = np.array([[-1.5, 2.0], [3.25, -4.0]], dtype=">f4")
    (tmp_path / "f.bin").write_bytes(idx_bytes(0x0D, (2, 2), vals))
    rs = load_records(tmp_path / "f.bin")
    assert rs.kind == "idx" and rs.shape == (2,)
    np.testing.assert_array_equal(rs.records, vals.astype(np.float32))
    (tmp_path / "short-ubyte").write_bytes(idx_bytes(0x08, (5, 2, 2), np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="cut short"):
        load_records(tmp_path / "short-ubyte")
    (tmp_path / "junk.idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="not an IDX"):
        load_records(tmp_path / "junk.idx")


def test_idx_label_file(tmp_path: Path) -> None:
    labels = np.array([7, 2, 1, 0, 9], dtype=np.uint8)
    p = tmp_path / "lab-idx1-ubyte"
    p.write_bytes(idx_bytes(0x08, (5,), labels))
    with pytest.raises(DataError, match="label file"):
        load_records(p)
    got = load_labels_idx(p)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, labels)
    img = tmp_path / "img-idx3-ubyte"
    img.write_bytes(idx_bytes(0x08, (1, 2, 2), np.zeros(4, np.uint8)))
    with pytest.raises(DataError, match="label file has 1"):
        load_labels_idx(img)


# --------------------------------------------------------------------------------------------- shared data


def test_nab_nyc_taxi() -> None:
    rs = load_records(shared("nab/data/realKnownCause/nyc_taxi.csv"), window=128)
    assert rs.columns == ("value",) and rs.channels == 1
    assert rs.records.shape == (10320 // 128, 128)
    assert rs.tail_length == 10320 % 128
    first, rest = rs.split(0.5)
    assert len(first.records) == 40 and len(rest.records) == 40


def test_mitdb100_fast() -> None:
    p = shared("ecg_mitdb100/mitdb100_adu.csv")
    t0 = time.perf_counter()
    rs = load_records(p)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, f"loading 650,000 x 2 rows took {elapsed:.2f} s"
    assert rs.columns == ("MLII", "V5") and rs.channels == 2 and rs.window == 128
    assert rs.records.shape == (650000 // 128, 256)
    assert rs.tail_length == (650000 % 128) * 2
    np.testing.assert_array_equal(rs.records[0, :2], [995, 1011])


def test_air_quality() -> None:
    rs = load_records(shared("air_quality_uci/AirQuality.csv"))
    assert rs.channels == 13 and "Date" not in rs.columns and "Time" not in rs.columns
    assert rs.columns[0] == "CO(GT)" and rs.columns[-1] == "AH"
    assert rs.records.shape == (9357 // 128, 128 * 13)


def test_etth1() -> None:
    rs = load_records(shared("ett/ETTh1.csv"))
    assert rs.columns == ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")
    assert rs.records.shape == (17420 // 128, 128 * 7)


def test_daphnet() -> None:
    rs = load_records(shared("daphnet/S06R02E0.csv"))
    assert rs.channels == 10 and rs.columns[-1] == "is_anomaly" and "timestamp" not in rs.columns
    assert rs.records.shape == (7040 // 128, 1280)


def test_mnist_t10k() -> None:
    rs = load_records(shared("mnist_t10k/t10k-images-idx3-ubyte.gz"))
    assert rs.records.shape == (10000, 784) and rs.shape == (28, 28) and rs.kind == "idx"
    assert rs.records.min() == 0 and rs.records.max() == 255
    labels = load_labels_idx(shared("mnist_t10k/t10k-labels-idx1-ubyte.gz"))
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert set(np.unique(labels).tolist()) == set(range(10))
    first, rest = rs.split(0.5)
    assert first.records.shape == (5000, 784) and rest.records.shape == (5000, 784)
