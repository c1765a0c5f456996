"""Regenerate ``envelope_v8.json``: whole records of the golden sets framed as wire version 8.

Run once, by hand, when the vectors must be rebuilt (``python tests/golden/make_envelope_v8.py``). Each vector
is the coded record of one envelope of an earlier golden set (the first whole one of each kind there),
framed as this build writes it: the 6-byte header marked version 8, then the coded record, no msgpack.
``tests/unit/test_envelope.py`` packs and unpacks every vector byte for byte.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from compressor.envelope import FRAMING_VERSION, unpack  # noqa: E402
from tests.golden_sets import as_written  # noqa: E402

SETS = (
    "bundle_v1",
    "bundle_v2",
    "bundle_v3",
    "bundle_v4",
    "bundle_v5",
    "bundle_v5_lossless",
    "bundle_fine",
    "bundle_counts",
)


def _envelopes(name: str) -> list[bytes]:
    doc = json.loads((HERE / f"{name}_vectors.json").read_text())
    if "envelopes" in doc:  # the version-1 set: fixed-rate envelopes
        return [bytes.fromhex(e) for e in doc["envelopes"]]
    return [bytes.fromhex(v["envelope"]) for v in doc["vectors"]]


def main() -> int:
    vectors, seen = [], set()
    for name in SETS:
        for buf in _envelopes(name):
            env = unpack(buf)
            if env.length is not None or env.kind in seen:
                continue
            seen.add(env.kind)
            written = as_written(buf)
            vectors.append(
                {
                    "name": f"kind {env.kind}, from {name}",
                    "model_id": env.model_id.hex(),
                    "kind": env.kind,
                    "version": FRAMING_VERSION,
                    "payload": env.payload.hex(),
                    "bytes": written.hex(),
                }
            )
    doc = {
        "format": "latentwire envelope",
        "version": FRAMING_VERSION,
        "comment": "frozen test vectors; a change here is a wire-format change and needs a new version",
        "vectors": vectors,
    }
    (HERE / "envelope_v8.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(vectors)} vectors, kinds {sorted(seen)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
