"""Run ``latentwire`` commands in the benchmark's own process, as a user would type them."""

from __future__ import annotations

import contextlib
import io
import json

__all__ = ["run_cli"]


def run_cli(*args: str) -> dict:
    """``latentwire ARGS --json`` in this process (the real command line, one TensorFlow import)."""
    from latentwire.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--json"])
    if code != 0:
        raise RuntimeError(f"latentwire {' '.join(args)} exited with {code}")
    return json.loads(out.getvalue())
