"""Training windows from a series: overlapping ones when a short history holds too few non-overlapping.

A producer cuts a stream into non-overlapping windows, but a model can learn from windows starting at any
row. When a file holds fewer than :data:`MIN_WINDOWS` non-overlapping windows, training uses windows every
``stride`` rows instead, the stride chosen to give about :data:`TARGET_WINDOWS` of them. The rows are split
into the training and held-back parts *before* windowing, so no held-back window shares a row with a
training window; the held-back part is never shorter than one window (a short file holds back more than
its share rather than nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compressor.errors import ConfigError, DataError

__all__ = ["MIN_WINDOWS", "TARGET_WINDOWS", "TrainingWindows", "auto_stride", "sliding", "training_windows"]

#: below this many non-overlapping windows, training windows overlap (unless a stride is given)
MIN_WINDOWS = 64
#: about how many windows an automatic stride aims at
TARGET_WINDOWS = 256


@dataclass(frozen=True)
class TrainingWindows:
    """Records to train on, the last of them held back.

    Arguments:
        records (np.ndarray): ``(N, window * channels)`` float32 windows.
        held_back (int): how many of the last records are held back.
        stride (int): rows between the starts of consecutive windows (``window``: none overlap).
    """

    records: np.ndarray
    held_back: int
    stride: int

    @property
    def validation_split(self) -> float:
        """The fraction of records held back, exactly ``held_back`` once rounded."""
        return self.held_back / len(self.records)


def sliding(rows: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Windows of ``window`` rows of a ``(T, C)`` table every ``stride`` rows, flattened row-major."""
    rows = np.asarray(rows, dtype=np.float32)
    n = (len(rows) - window) // stride + 1
    if n <= 0:
        return np.empty((0, window * rows.shape[1]), np.float32)
    idx = np.arange(window)[None, :] + stride * np.arange(n)[:, None]
    return rows[idx].reshape(n, -1)


def auto_stride(n_rows: int, window: int) -> int:
    """``window`` when the rows hold :data:`MIN_WINDOWS` non-overlapping windows, else a stride giving about
    :data:`TARGET_WINDOWS` windows (at least 1)."""
    if n_rows // window >= MIN_WINDOWS:
        return window
    return int(max(1, min(window, (n_rows - window) // TARGET_WINDOWS)))


def training_windows(
    rows: np.ndarray, window: int, validation_split: float, stride: int | None = None
) -> TrainingWindows:
    """Training and held-back windows of a ``(T, C)`` table; ``stride`` None chooses it (:func:`auto_stride`).

    The last ``validation_split`` of the rows (at least ``window`` rows, when validation is asked for) is held
    back and windowed on its own, with the same stride.
    """
    rows = np.asarray(rows, dtype=np.float32)
    if rows.ndim != 2:
        raise DataError(f"a series for training windows must be (rows, channels), got shape {rows.shape}")
    if stride is not None and (isinstance(stride, bool) or not isinstance(stride, int) or stride < 1):
        raise ConfigError(f"stride must be a positive integer, got {stride!r}")
    held_rows = int(round(len(rows) * validation_split))
    cut = len(rows) - (max(held_rows, window) if validation_split > 0 else held_rows)
    step = stride or auto_stride(cut, window)
    fit, held = sliding(rows[:cut], window, step), sliding(rows[cut:], window, step)
    if len(fit) < 8 or len(held) < 1:
        raise DataError(
            f"too few rows to train and validate on windows of {window}: {len(rows)} rows give {len(fit)} "
            f"training and {len(held)} held-back window(s) at stride {step} (need 8 and 1; a smaller --window "
            "or --stride helps)"
        )
    return TrainingWindows(np.concatenate([fit, held]), len(held), step)
