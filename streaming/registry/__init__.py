"""A model registry on a compacted Kafka topic: publish bundles, fetch decoders by model id.

::

    streaming.registry.format    bundle <-> archive bytes <-> chunk records (no Kafka)
    streaming.registry.topic     publish to the topic, read it back, list it, a ModelResolver source

See "Model registry" in ``docs/sidecar.md`` for the topic layout.
"""

from streaming.registry.format import DEFAULT_CHUNK_BYTES, DEFAULT_TOPIC, pack_bundle, unpack_bundle
from streaming.registry.topic import ModelRegistry, publish_bundle

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_TOPIC",
    "ModelRegistry",
    "pack_bundle",
    "publish_bundle",
    "unpack_bundle",
]
