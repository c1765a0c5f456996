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


_BOUNDED_CONSUMER = """
import json, sys
sys.path.insert(0, {repo!r})
import numpy as np
from compressor.bounded.codec import BoundedCodec
from compressor.bounded.parameters import BoundedParameters
doc = json.loads(sys.stdin.read())
stats = doc["stats"]
params = BoundedParameters(
    tuple(doc["layout"]), np.asarray(doc["offset"], np.float32), stats, quanta=stats["quantum"],
    fine=stats.get("fine_lattice"),
)
out, _ = BoundedCodec(params).decode([bytes.fromhex(b) for b in doc["bodies"]], doc["grids"])
sys.stdout.write(out.view(np.uint32).tobytes().hex())
"""


def bounded_consumer_bits(layout, offset, stats, bodies, grids) -> list[int]:  # noqa: ANN001
    """The float32 bits (flat) a consumer process with one BLAS thread decodes from bounded-codec ``bodies``
    on ``grids``, with parameters built from ``layout``, training ``offset`` (float32) and ``stats`` (the
    JSON statistics) as a consumer builds them."""
    import json
    from pathlib import Path

    import numpy as np

    doc = {
        "layout": list(layout),
        "offset": np.asarray(offset, np.float32).astype(np.float64).tolist(),
        "stats": stats,
        "bodies": [b.hex() for b in bodies],
        "grids": [int(g) for g in grids],
    }
    repo = str(Path(__file__).resolve().parents[1])
    out = run_python(_BOUNDED_CONSUMER.format(repo=repo), json.dumps(doc), threads="1")
    return np.frombuffer(bytes.fromhex(out), dtype=np.uint32).tolist()
