"""Load a bundle and the records of a file for it, and write arrays as ``.npy`` or ``.csv`` by extension.
Shared by the application subcommands (denoise, features, detect, sample)."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

from compressor.errors import ConfigError, ShapeError

__all__ = ["as_table", "bundle_and_records", "write_array"]


def bundle_and_records(args: argparse.Namespace) -> tuple[Any, Any]:
    """The bundle named by ``--model`` and the records of ``--data``, windowed like
    the bundle's training data."""
    from compressor.bundle import load_bundle
    from latentwire.cli.data_options import load_from_args

    bundle = load_bundle(args.model)
    is_csv = str(args.data).lower().endswith((".csv", ".csv.gz"))
    columns = list(bundle.columns) if is_csv and bundle.columns else None
    data = load_from_args(args, window=bundle.window if bundle.window > 1 else None, columns=columns)
    if data.record_size != bundle.record_size:
        raise ShapeError(
            f"{args.data}: records have {data.record_size} values, model {bundle.model_id[:12]} expects "
            f"{bundle.record_size} (window {bundle.window} x {bundle.channels} channels)"
        )
    return bundle, data


def write_array(path: str | Path | None, array: np.ndarray, header: list[str] | None = None) -> None:
    """Write ``array`` (2-D) to ``path``: ``.npy`` as is, ``.csv`` with a header row;
    ``None`` or ``-``: CSV on stdout."""
    array = np.asarray(array)
    if path is not None and str(path) != "-" and str(path).lower().endswith(".npy"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array, allow_pickle=False)
        return
    if path is not None and str(path) != "-" and not str(path).lower().endswith(".csv"):
        raise ConfigError(f"output {path}: use a .npy or .csv file name")
    header = header or [f"x{i}" for i in range(array.shape[1])]
    fh = sys.stdout if path is None or str(path) == "-" else open(path, "w", newline="")  # noqa: SIM115
    try:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([[f"{v:.9g}" for v in row] for row in array.tolist()])
    finally:
        if fh is not sys.stdout:
            fh.close()


def as_table(bundle: Any, records: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
    """Records of W x C values back to the file's layout: one row per time step, one column per channel."""
    if bundle.window > 1 and bundle.columns and len(bundle.columns) == bundle.channels:
        return records.reshape(-1, bundle.channels), list(bundle.columns)
    return records, None
