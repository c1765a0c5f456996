"""Run Python source in a separate process with a given number of BLAS and TensorFlow threads.

Decoding must give the same bits on any machine and thread count; these tests decode in a child process
whose thread settings differ from the parent's.
"""

from __future__ import annotations

import os
import subprocess
import sys

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def run_python(source: str, stdin: str, threads: str, timeout: float = 120) -> str:
    """Run ``source`` with ``python -c`` and ``threads`` threads everywhere; return its stdout."""
    env = dict(os.environ, **dict.fromkeys(THREAD_VARIABLES, threads))
    argv = [sys.executable, "-c", source]
    run = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=env, timeout=timeout, check=True
    )
    return run.stdout
