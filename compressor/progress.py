"""Progress bars for long work (tqdm), silent when output is not a terminal unless forced."""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm

__all__ = ["bar", "keras_epoch_bar"]


def bar(total: int | None, desc: str, *, enabled: bool | None = None, unit: str = "it") -> tqdm:
    disable = not sys.stderr.isatty() if enabled is None else not enabled
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, dynamic_ncols=True, leave=False)


def keras_epoch_bar(epochs: int, *, enabled: bool | None = None) -> Any:
    """A Keras callback that advances one tqdm bar per epoch, showing the losses."""
    from compressor.backend import keras

    class _EpochBar(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.bar = bar(epochs, "training", enabled=enabled, unit="epoch")

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if "loss" in k})
            self.bar.update(1)

        def on_train_end(self, logs: dict | None = None) -> None:
            self.bar.close()

    return _EpochBar()
