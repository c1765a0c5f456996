"""Options that say how a file becomes records, shared by every command that reads data."""

from __future__ import annotations

import argparse

from latentwire.cli.options import add_option

__all__ = ["add_data_options", "load_from_args"]


def add_data_options(
    parser: argparse.ArgumentParser, *, required: bool = True, window_default: int | None = None
) -> None:
    add_option(
        parser,
        "--data",
        required=required,
        help="input file: CSV (numeric columns; others are dropped), .npy of shape (N, D), or IDX images",
    )
    add_option(
        parser,
        "--window",
        type=int,
        default=window_default,
        help="CSV rows per record (records hold WINDOW x channels values, row-major); "
        "default: 128, or the model's window when a model is given",
    )
    add_option(
        parser,
        "--columns",
        type=lambda s: [c.strip() for c in s.split(",") if c.strip()],
        default=None,
        help="comma-separated CSV columns to use (default: every numeric column)",
    )
    add_option(parser, "--max-records", type=int, default=None, help="read at most this many records")


def load_from_args(args: argparse.Namespace, *, window: int | None = None, columns: list[str] | None = None):  # noqa: ANN201
    """Load records as the options say; a model's window and columns fill in what was not given."""
    from compressor.data import load_records

    return load_records(
        args.data,
        window=args.window or window,
        columns=args.columns or columns,
        max_records=args.max_records,
    )
