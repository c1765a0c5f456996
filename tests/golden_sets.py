"""The golden sets in ``tests/golden``: a bundle, the envelopes made with it, and what they decode to."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from compressor.bundle import load_bundle
from compressor.codec import Codec
from compressor.envelope import FRAMING_VERSION, Envelope, pack, unpack

GOLDEN = Path(__file__).parent / "golden"


def golden_set(name: str, bundle_name: str | None = None) -> tuple[Codec, dict]:
    """The codec of ``golden/<bundle_name>/`` (default: ``name``) and the vectors of
    ``golden/<name>_vectors.json`` (same model id)."""
    vectors = json.loads((GOLDEN / f"{name}_vectors.json").read_text())
    bundle = load_bundle(GOLDEN / (bundle_name or name))
    assert bundle.model_id == vectors["model_id"]
    return Codec(bundle), vectors


def as_written(envelope: bytes) -> bytes:
    """What this build writes for the record of a golden ``envelope`` of an earlier wire version: the same
    coded record, framed as wire version 8 (the header marked 8, then the coded record) where it is whole; a
    padded record keeps its framing and marking."""
    env = unpack(envelope)
    if env.length is not None:
        return envelope
    return pack(Envelope(env.model_id, env.kind, env.payload, None, FRAMING_VERSION))


def decode_vectors(codec: Codec, vectors: dict) -> tuple[list[np.ndarray], list[float]]:
    """Every golden envelope decoded as a consumer decodes it: the records and the bounds they carry."""
    envelopes = [unpack(bytes.fromhex(v["envelope"])) for v in vectors["vectors"]]
    return codec.decode_with_bounds(envelopes)


def source_records(vectors: dict) -> np.ndarray:
    """(N, D) float32: the source record of every golden vector (sets written with their sources)."""
    return np.stack(
        [np.asarray(v["source_float32_bits"], np.uint32).view(np.float32) for v in vectors["vectors"]]
    )


def decoded_in_consumer_process(bundle_name: str, vectors: dict) -> np.ndarray:
    """The float32 bits (flat, uint32) a separate consumer process with one BLAS thread decodes the golden
    envelopes of ``vectors`` to, with the bundle ``golden/<bundle_name>/``."""
    from tests.processes import run_python

    repo = GOLDEN.parent.parent
    source = f"""
import sys
sys.path.insert(0, {str(repo)!r})
import numpy as np
from compressor.bundle import load_bundle
from compressor.codec import Codec
from compressor.envelope import unpack
codec = Codec(load_bundle({str(GOLDEN / bundle_name)!r}))
out = codec.decode([unpack(bytes.fromhex(h)) for h in sys.stdin.read().split()])
sys.stdout.write(np.stack(out).view(np.uint32).tobytes().hex())
"""
    envelopes = " ".join(v["envelope"] for v in vectors["vectors"])
    return np.frombuffer(bytes.fromhex(run_python(source, envelopes, threads="1")), np.uint32)


def save_golden_bundle(bundle, name: str):  # noqa: ANN001, ANN201 - compressor.bundle.Bundle both
    """Save ``bundle`` as ``golden/<name>/`` (replacing it) and load it back, as a consumer will."""
    import shutil

    from compressor.bundle import save_bundle

    out = GOLDEN / name
    if out.exists():
        shutil.rmtree(out)
    save_bundle(bundle, out)
    return load_bundle(out)


def check_golden_vectors(codec: Codec, vectors: dict) -> list[tuple[dict, np.ndarray, float]]:
    """Decode every golden envelope, check its float32 bits and the bound it carries; return each vector
    with its decoded record and bound for further checks."""
    decoded, bounds = decode_vectors(codec, vectors)
    for v, got, bound in zip(vectors["vectors"], decoded, bounds, strict=True):
        expected = np.asarray(v["decoded_float32_bits"], dtype=np.uint32)
        assert np.array_equal(got.view(np.uint32), expected), v["name"]
        assert 0.99 * v["error_bound"] < bound <= v["error_bound"], v["name"]
    return list(zip(vectors["vectors"], decoded, bounds, strict=True))


def encoded_vectors(name: str, error_bound: float, encoded, sources: np.ndarray | None = None) -> list[dict]:  # noqa: ANN001 - an Encoded batch
    """One golden vector per payload of ``encoded``: its envelope and decoded float32 bits (and the source
    record's bits when ``sources`` is given), named ``"<name> #<i>"``."""
    vectors = []
    for i, payload in enumerate(encoded.payloads):
        vector = {
            "name": f"{name} #{i}",
            "error_bound": error_bound,
            "envelope": payload.hex(),
            "decoded_float32_bits": encoded.decoded[i].view(np.uint32).tolist(),
        }
        if sources is not None:
            vector["source_float32_bits"] = sources[i].view(np.uint32).tolist()
        vectors.append(vector)
    return vectors


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
