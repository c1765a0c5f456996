"""Training windows: overlapping ones for short histories, never shared between training and held back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compressor.errors import ConfigError, DataError
from compressor.windows import MIN_WINDOWS, auto_stride, sliding, training_windows
from tests.training import without_learned_model


def test_sliding_windows_are_row_major_and_strided() -> None:
    rows = np.arange(20, dtype=np.float32).reshape(10, 2)
    out = sliding(rows, 4, 3)
    assert out.shape == (3, 8)
    assert out[1].tolist() == rows[3:7].reshape(-1).tolist()
    assert sliding(rows, 11, 1).shape == (0, 22)


def test_auto_stride_overlaps_only_short_histories() -> None:
    assert auto_stride(MIN_WINDOWS * 128, 128) == 128
    assert auto_stride(960, 128) == 3  # ~256 windows from 960 rows
    assert auto_stride(130, 128) == 1


def test_held_back_windows_share_no_row_with_training_windows() -> None:
    rows = np.arange(1200, dtype=np.float32)[:, None]  # each value is its row number
    win = training_windows(rows, 128, 0.2)
    assert win.stride == 3 and len(win.records) > 250
    fit, held = win.records[: -win.held_back], win.records[-win.held_back :]
    assert fit.max() < 960 <= held.min()
    assert round(len(win.records) * win.validation_split) == win.held_back
    assert training_windows(rows, 128, 0.2, stride=10).stride == 10


def test_a_short_file_holds_back_one_whole_window() -> None:
    # 563 rows: a fifth (113 rows) is less than a window of 128; the last 128 rows are held back instead
    rows = np.arange(563, dtype=np.float32)[:, None]
    win = training_windows(rows, 128, 0.2)
    fit, held = win.records[: -win.held_back], win.records[-win.held_back :]
    assert win.held_back == 1 and held.min() == 435 and fit.max() < 435
    assert len(fit) >= 8


def test_too_short_or_bad_stride_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="too few rows"):
        training_windows(np.zeros((200, 1), np.float32), 128, 0.2)
    with pytest.raises(DataError, match="too few rows"):  # one held-back window leaves 7 to train on
        training_windows(np.zeros((262, 1), np.float32), 128, 0.2)
    with pytest.raises(ConfigError):
        training_windows(np.zeros((2000, 1), np.float32), 128, 0.2, stride=0)


def test_train_accepts_a_1200_row_file_at_window_128(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from latentwire.cli import main

    t = np.arange(1200)
    values = np.rint(100 * np.sin(t / 7.0) + 5 * np.cos(t / 3.0))
    path = tmp_path / "short.csv"
    path.write_text("value\n" + "\n".join(str(int(v)) for v in values) + "\n")
    with without_learned_model():  # about the windows: the learned model is left out
        code = main(["train", "--data", str(path), "--out", str(tmp_path / "m"), "--epochs", "2", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stride"] == 3 and report["windows"] == report["records"] > 250
    assert report["validation_records"] >= 30
