"""Find the decoder for the model id carried by each envelope.

Sources are searched in order: bundles given by path, then every bundle directory below the model
directories (read lazily: manifests first, Keras models only when an id is first seen). More sources
(e.g. a model registry topic) plug in through :meth:`ModelResolver.add_source`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from compressor.bundle import Bundle, load_bundle, read_manifest
from compressor.codec import Codec
from compressor.errors import BundleError, UnknownModelError

__all__ = ["ModelResolver"]

log = logging.getLogger(__name__)

#: a source returns a bundle for a 4-byte wire id, or None if it does not know it
Source = Callable[[bytes], Bundle | None]


class ModelResolver:
    """Finds the codec of each model id on the wire: given bundles, then bundle directories, then
    sources added with :meth:`add_source` (e.g. a model registry topic). Thread-safe.

    Arguments:
        bundles (Iterable[str | Path | Bundle]): bundles, or their directories, loaded at once.
            Default: none.
        model_dirs (Iterable[str | Path]): directories holding bundle directories, read lazily (manifests
            first, models when their id is first seen) and searched again for ids not yet known.
            Default: none.
    """

    def __init__(
        self, bundles: Iterable[str | Path | Bundle] = (), model_dirs: Iterable[str | Path] = ()
    ) -> None:
        self._codecs: dict[bytes, Codec] = {}
        self._paths: dict[bytes, Path] = {}
        self._sources: list[Source] = []
        self._dirs = [Path(d) for d in model_dirs]
        self._lock = threading.Lock()
        for item in bundles:
            self.add(item if isinstance(item, Bundle) else load_bundle(item))
        self._scan_dirs()

    def add(self, bundle: Bundle) -> Codec:
        codec = Codec(bundle)
        with self._lock:
            existing = self._codecs.get(codec.wire_id)
            if existing is not None and existing.model_id != codec.model_id:
                raise BundleError(
                    f"models {existing.model_id[:12]} and {codec.model_id[:12]} share the wire id "
                    f"{codec.wire_id.hex()}; keep only one of them where this consumer looks"
                )
            self._codecs[codec.wire_id] = codec
        log.info("decoder for model %s ready", codec.model_id[:12])
        return codec

    def add_source(self, source: Source) -> None:
        self._sources.append(source)

    def _scan_dirs(self) -> None:
        for root in self._dirs:
            if not root.is_dir():
                continue
            for manifest in sorted(root.glob("*/manifest.json")) + sorted(root.glob("manifest.json")):
                try:
                    model_id = read_manifest(manifest.parent)["model_id"]
                except BundleError as exc:
                    log.warning("skipping %s: %s", manifest.parent, exc)
                    continue
                self._paths.setdefault(bytes.fromhex(model_id[:8]), manifest.parent)

    def codec(self, wire_id: bytes) -> Codec:
        """The codec for ``wire_id``; raise :class:`UnknownModelError` if no source has it."""
        codec = self._codecs.get(wire_id)
        if codec is not None:
            return codec
        path = self._paths.get(wire_id)
        if path is None and self._dirs:
            self._scan_dirs()  # a bundle may have been dropped in since the last look
            path = self._paths.get(wire_id)
        if path is not None:
            return self.add(load_bundle(path))
        for source in self._sources:
            bundle = source(wire_id)
            if bundle is not None:
                return self.add(bundle)
        raise UnknownModelError(
            f"no model bundle with id {wire_id.hex()}… is known here; pass it with --model, put it in "
            "--models-dir, or publish it to the model registry"
        )

    @property
    def known(self) -> list[str]:
        return sorted(c.model_id for c in self._codecs.values())
