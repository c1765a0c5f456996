"""Publish bundles to the registry topic and read them back (kafka-python).

::

    publish_bundle("models/v2", {"bootstrap_servers": [...]})          # chunks, then the index record
    registry = ModelRegistry({"bootstrap_servers": [...]}, cache_dir="~/.cache/latentwire/models")
    resolver.add_source(registry)              # unseen model ids are fetched from the topic and cached
    registry.list()                            # the index records, one per published model

The reader assigns itself every partition of the topic (no consumer group: each process reads it all)
and keeps its position, so a later refresh reads only what was published since.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from compressor.bundle import Bundle, load_bundle, read_manifest
from compressor.errors import BundleError, RegistryError
from streaming.registry import format as fmt

__all__ = ["ModelRegistry", "RegistryError", "ensure_topic", "publish_bundle"]

log = logging.getLogger(__name__)


def ensure_topic(config: dict[str, Any], topic: str, chunk_bytes: int = fmt.DEFAULT_CHUNK_BYTES) -> None:
    """Create the compacted registry topic if it is not there (one partition, the broker's replication)."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(**config)
    try:
        if topic in set(admin.list_topics()):
            return
        admin.create_topics(
            {
                topic: {
                    "num_partitions": 1,
                    "replication_factor": -1,
                    "configs": {
                        "cleanup.policy": "compact",
                        "max.message.bytes": str(max(chunk_bytes + 64 * 1024, 1024 * 1024)),
                    },
                }
            },
            raise_errors=False,
            wait_for_metadata=True,
        )
        log.info("created registry topic %s", topic)
    finally:
        admin.close()


def publish_bundle(
    directory: str | Path,
    config: dict[str, Any],
    topic: str = fmt.DEFAULT_TOPIC,
    chunk_bytes: int = fmt.DEFAULT_CHUNK_BYTES,
) -> dict[str, Any]:
    """Publish a verified bundle; returns ``{"model_id", "chunks", "bytes", "topic"}``."""
    from kafka import KafkaProducer

    manifest, archive = fmt.pack_bundle(directory)
    records = fmt.chunk_records(manifest, archive, chunk_bytes)
    ensure_topic(config, topic, chunk_bytes)
    producer = KafkaProducer(
        **config, acks="all", enable_idempotence=True, max_request_size=max(chunk_bytes + 64 * 1024, 1 << 20)
    )
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in records]
        producer.flush()
        for future in futures:
            future.get(timeout=0)
    except Exception as exc:
        raise RegistryError(f"could not publish model {manifest['model_id'][:12]} to {topic}: {exc}") from exc
    finally:
        producer.close()
    log.info("published model %s to %s in %d chunk(s)", manifest["model_id"][:12], topic, len(records) - 1)
    return {
        "model_id": manifest["model_id"],
        "chunks": len(records) - 1,
        "bytes": len(archive),
        "topic": topic,
    }


class ModelRegistry:
    """Reads the registry topic; callable as a :class:`consumers.ModelResolver` source.

    Arguments:
        config (dict[str, Any]): kafka-python client settings (``bootstrap_servers``, security).
        topic (str): the registry topic. Default: ``"_latentwire_models"``.
        cache_dir (str | Path | None): where fetched bundles are kept.
            Default: None, ``~/.cache/latentwire/models``.
        refresh_timeout (float): seconds a refresh may take to read up to the topic's end. Default: 10.0.
    """

    def __init__(
        self,
        config: dict[str, Any],
        topic: str = fmt.DEFAULT_TOPIC,
        cache_dir: str | Path | None = None,
        *,
        refresh_timeout: float = 10.0,
    ) -> None:
        self.config = config
        self.topic = topic
        self.cache_dir = (
            Path(cache_dir).expanduser() if cache_dir else Path.home() / ".cache" / "latentwire" / "models"
        )
        self.refresh_timeout = refresh_timeout
        self._consumer: Any = None
        self._index: dict[str, dict[str, Any]] = {}
        self._chunks: dict[str, dict[int, bytes]] = {}
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._consumer is None:
            from kafka import KafkaConsumer

            self._consumer = KafkaConsumer(
                **self.config,
                group_id=None,
                enable_auto_commit=False,
                allow_auto_create_topics=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                fetch_max_bytes=64 * 1024 * 1024,
                max_partition_fetch_bytes=8 * 1024 * 1024,
            )
        return self._consumer

    def refresh(self) -> int:
        """Read what was published since the last refresh; returns the number of records read."""
        from kafka.structs import TopicPartition

        with self._lock:
            consumer = self._open()
            partitions = consumer.partitions_for_topic(self.topic)
            if not partitions:
                return 0
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            if set(consumer.assignment()) != set(tps):
                consumer.assign(tps)
                consumer.seek_to_beginning(*tps)
            ends = consumer.end_offsets(tps)
            read = 0
            deadline = time.monotonic() + self.refresh_timeout
            while any(consumer.position(tp) < ends[tp] for tp in tps):
                if time.monotonic() > deadline:
                    raise RegistryError(f"timed out reading the registry topic {self.topic}")
                for messages in consumer.poll(timeout_ms=500).values():
                    for msg in messages:
                        read += 1
                        self._take(msg.value)
            return read

    def _take(self, value: bytes | None) -> None:
        record = fmt.parse_record(value)
        if record is None:
            return
        model_id = str(record.get("model_id", ""))
        if record["type"] == "index":
            self._index[model_id] = record
        else:
            data = record.get("data")
            if isinstance(data, bytes) and isinstance(record.get("index"), int):
                self._chunks.setdefault(model_id, {})[record["index"]] = data

    def list(self) -> list[dict[str, Any]]:
        """Index records of every published model, oldest first."""
        self.refresh()
        return sorted(self._index.values(), key=lambda r: r.get("published_at", 0))

    def fetch(self, model_id_prefix: str) -> Bundle | None:
        """The bundle whose id starts with ``model_id_prefix`` (downloaded and cached), or None."""
        matches = [m for m in self._index if m.startswith(model_id_prefix)]
        if not matches:
            self.refresh()
            matches = [m for m in self._index if m.startswith(model_id_prefix)]
        if not matches:
            return None
        if len(matches) > 1:
            raise BundleError(
                f"models {', '.join(m[:12] for m in matches)} share the prefix {model_id_prefix}"
            )
        model_id = matches[0]
        cached = self.cache_dir / model_id
        if cached.is_dir():
            try:
                if read_manifest(cached)["model_id"] == model_id:
                    return load_bundle(cached)
            except BundleError as exc:
                log.warning("cached bundle %s is damaged (%s); fetching it again", cached, exc)
        index = self._index[model_id]
        chunks = self._chunks.get(model_id, {})
        count = int(index["count"])
        missing = [i for i in range(count) if i not in chunks]
        if missing:
            raise RegistryError(f"model {model_id[:12]} in {self.topic} lacks chunk(s) {missing[:5]}")
        archive = b"".join(chunks[i] for i in range(count))
        path = fmt.unpack_bundle(model_id, archive, str(index["sha256"]), self.cache_dir)
        self._chunks.pop(model_id, None)
        log.warning("fetched model %s from the registry topic %s", model_id[:12], self.topic)
        return load_bundle(path)

    def __call__(self, wire_id: bytes) -> Bundle | None:
        return self.fetch(wire_id.hex())

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
