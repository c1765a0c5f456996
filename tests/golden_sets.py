"""The golden sets in ``tests/golden``: a bundle, the envelopes made with it, and what they decode to."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from compressor.bundle import load_bundle
from compressor.codec import Codec
from compressor.envelope import unpack

GOLDEN = Path(__file__).parent / "golden"


def golden_set(name: str) -> tuple[Codec, dict]:
    """The codec of ``golden/<name>/`` and the vectors of ``golden/<name>_vectors.json`` (same model id)."""
    vectors = json.loads((GOLDEN / f"{name}_vectors.json").read_text())
    bundle = load_bundle(GOLDEN / name)
    assert bundle.model_id == vectors["model_id"]
    return Codec(bundle), vectors


def decode_vectors(codec: Codec, vectors: dict) -> tuple[list[np.ndarray], list[float]]:
    """Every golden envelope decoded as a consumer decodes it: the records and the bounds they carry."""
    envelopes = [unpack(bytes.fromhex(v["envelope"])) for v in vectors["vectors"]]
    return codec.decode_with_bounds(envelopes)


def write_vectors(name: str, model_id: str, source: str, vectors: list[dict]) -> None:
    """Write ``golden/<name>_vectors.json`` and say what it holds (the golden scripts' last step)."""
    doc = {
        "model_id": model_id,
        "records_source": source,
        "comment": "decoded values are float32 bit patterns; a decoder must reproduce them exactly",
        "vectors": vectors,
    }
    (GOLDEN / f"{name}_vectors.json").write_text(json.dumps(doc, indent=1) + "\n")
    kinds = [bytes.fromhex(v["envelope"])[1] & 0x0F for v in vectors]
    print(f"{len(vectors)} vectors, kinds {sorted(set(kinds))}, model {model_id[:8]}")
