"""How a bundle travels through the registry topic. Bytes only, no Kafka.

A bundle becomes one *archive*: a msgpack map of its files (``manifest.json``, ``encoder.keras``,
``decoder.keras``, and ``reference.npy`` when the bundle has one; nothing else is accepted). The archive is cut into chunks no larger than
``chunk_bytes`` so each fits the topic's message size limit, and published as records of a compacted
topic (default ``_latentwire_models``, one partition)::

    key "<model id>/00000" ...     {"v": 1, "type": "chunk", "model_id", "index", "count", "data": bin}
    key "<model id>"               {"v": 1, "type": "index", "model_id", "count", "size", "sha256",
                                    "published_at", "summary": {name, input_dim, latent_dim, ...}}

The index record comes last: a reader treats a model as published once it has the index and every chunk.
Keys never change their content (the model id is a content hash), so compaction keeps exactly one
copy of each. On fetch the archive's SHA-256 must match the index, the files are written to a fresh
directory, the manifest's hashes are verified (:func:`compressor.bundle.read_manifest`) and its model id
must equal the one asked for; any mismatch refuses the bundle. Keras then loads it in safe mode, and a
model holding a ``Lambda`` layer (arbitrary code) is refused before that.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import msgpack

from compressor.bundle import MANIFEST, MODEL_FILES, REFERENCE_FILE, read_manifest, staged_directory
from compressor.errors import BundleError, ModelMismatchError

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_TOPIC",
    "FORMAT_VERSION",
    "chunk_key",
    "chunk_records",
    "pack_bundle",
    "parse_record",
    "unpack_bundle",
]

DEFAULT_TOPIC = "_latentwire_models"
#: well under Kafka's default 1 MiB message limit, leaving room for the record's own framing
DEFAULT_CHUNK_BYTES = 512 * 1024
FORMAT_VERSION = 1
ARCHIVE_FILES = (MANIFEST, *MODEL_FILES)
#: files an archive may also hold (when the manifest lists them)
OPTIONAL_FILES = (REFERENCE_FILE,)
#: refuse archives larger than this before allocating anything
MAX_ARCHIVE_BYTES = 1 << 30


def chunk_key(model_id: str, index: int) -> bytes:
    return f"{model_id}/{index:05d}".encode()


def pack_bundle(directory: str | Path) -> tuple[dict[str, Any], bytes]:
    """``(manifest, archive)`` of a bundle directory, after verifying its hashes."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    listed = [name for name in OPTIONAL_FILES if name in manifest.get("files", {})]
    files = {name: (directory / name).read_bytes() for name in (*ARCHIVE_FILES, *listed)}
    return manifest, msgpack.packb(files, use_bin_type=True)


def chunk_records(
    manifest: dict[str, Any], archive: bytes, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> list[tuple[bytes, bytes]]:
    """The ``(key, value)`` records that publish one archive: the chunks, then the index."""
    if chunk_bytes < 1024:
        raise ValueError("chunk_bytes must be at least 1024")
    model_id = manifest["model_id"]
    pieces = [archive[i : i + chunk_bytes] for i in range(0, len(archive), chunk_bytes)] or [b""]
    records = [
        (
            chunk_key(model_id, i),
            msgpack.packb(
                {
                    "v": FORMAT_VERSION,
                    "type": "chunk",
                    "model_id": model_id,
                    "index": i,
                    "count": len(pieces),
                    "data": piece,
                },
                use_bin_type=True,
            ),
        )
        for i, piece in enumerate(pieces)
    ]
    model = manifest.get("model", {})
    data = manifest.get("data", {})
    summary = {
        "name": model.get("name"),
        "input_dim": model.get("input_dim"),
        "latent_dim": model.get("latent_dim"),
        "window": data.get("window"),
        "channels": data.get("channels"),
        "heldback_rmse": manifest.get("training", {}).get("heldback_rmse"),
    }
    index = {
        "v": FORMAT_VERSION,
        "type": "index",
        "model_id": model_id,
        "count": len(pieces),
        "size": len(archive),
        "sha256": hashlib.sha256(archive).hexdigest(),
        "published_at": time.time(),
        "summary": summary,
    }
    records.append((model_id.encode(), msgpack.packb(index, use_bin_type=True)))
    return records


def parse_record(value: bytes | None) -> dict[str, Any] | None:
    """A registry record's map, or None for a tombstone or a record this build does not understand."""
    if value is None:
        return None
    try:
        obj = msgpack.unpackb(value, raw=False, max_bin_len=len(value), max_str_len=1 << 16, max_ext_len=0)
    except Exception:  # msgpack raises assorted errors on foreign bytes; such a record is skipped
        return None
    if (
        not isinstance(obj, dict)
        or obj.get("v") != FORMAT_VERSION
        or obj.get("type") not in ("chunk", "index")
    ):
        return None
    return obj


def _refuse_lambda(path: Path) -> None:
    """Safe mode refuses to run a Lambda layer; refuse the whole bundle up front, with a clear message."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{path.name} is not a Keras archive: {exc}") from exc

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda":
                raise BundleError(f"{path.name} holds a Lambda layer (arbitrary code): refused")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)


def unpack_bundle(model_id: str, archive: bytes, sha256: str, directory: str | Path) -> Path:
    """Write ``archive`` as bundle ``directory/<model_id>`` after every check; return that path."""
    if hashlib.sha256(archive).hexdigest() != sha256:
        raise ModelMismatchError(f"registry archive of model {model_id[:12]} does not match its SHA-256")
    if len(archive) > MAX_ARCHIVE_BYTES:
        raise BundleError(f"registry archive of {len(archive)} bytes is too large")
    try:
        files = msgpack.unpackb(archive, raw=False, max_bin_len=len(archive), max_map_len=8, max_array_len=0)
    except Exception as exc:  # assorted msgpack errors on a corrupt archive
        raise BundleError(f"registry archive of model {model_id[:12]} is corrupt: {exc}") from exc
    if not isinstance(files, dict) or not set(ARCHIVE_FILES) <= set(files) <= {
        *ARCHIVE_FILES,
        *OPTIONAL_FILES,
    }:
        names = sorted(files) if isinstance(files, dict) else type(files).__name__
        raise BundleError(
            f"registry archive must hold {', '.join(ARCHIVE_FILES)} (and optionally {', '.join(OPTIONAL_FILES)}), "
            f"got {names}"
        )
    if not all(isinstance(v, bytes) for v in files.values()):
        raise BundleError("registry archive files must be byte strings")
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    target = root / model_id
    with staged_directory(target, prefix=".fetch-") as staging:
        for name in files:
            (staging / name).write_bytes(files[name])
        manifest = read_manifest(staging)
        if manifest["model_id"] != model_id:
            raise ModelMismatchError(
                f"the registry's record for {model_id[:12]} holds model {manifest['model_id'][:12]}: refused"
            )
        for name in MODEL_FILES:
            _refuse_lambda(staging / name)
    return target
