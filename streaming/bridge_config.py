"""What one bridge reads, writes and serves: :class:`BridgeConfig`, taken by
:func:`streaming.bridge.run_bridge`. Light to import (no Kafka, no NumPy), so the command line takes its
flags' defaults from it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from streaming.client_config import KafkaConfig, config_from_mapping

__all__ = ["BridgeConfig"]


@dataclass(frozen=True)
class BridgeConfig:
    """What one bridge reads, writes and serves.

    Arguments:
        bridge (str): its name in metrics, logs and default names (``compress``, ``decompress``).
        input_topic (str): the topic read.
        output_topic (str): the topic written.
        kafka (KafkaConfig): the client settings. Default: ``KafkaConfig()``.
        group_id (str | None): consumer group; ``None``: ``latentwire-BRIDGE-INPUT_TOPIC``. Default: None.
        dead_letter_topic (str | None): where records the transform refuses go; ``None``:
            ``INPUT_TOPIC.dlq``. Default: None.
        transactional_id (str | None): Kafka transactional id of this copy; ``None``:
            ``latentwire-BRIDGE-INPUT_TOPIC-HOSTNAME-PID`` (unique per running copy, stable across
            restarts of one container, where the host name is the pod name and the pid 1). Default: None.
        exactly_once (bool): Kafka transactions; ``False``: produce, flush, then commit offsets (at
            least once). Default: True.
        max_poll_records (int): records per poll, at most; also the most records of a batch (one
            transform call, one transaction). Default: 2000.
        commit_interval_ms (int): the records of the polls of this many ms are transformed together and
            committed in one transaction (Kafka Streams' ``commit.interval.ms``): fewer, larger transactions
            and record batches on a topic of a few records per poll, at the cost of up to this much latency
            for read-committed consumers; 0: a transaction per poll. Default: 1000.
        session_timeout_ms (int): how long the group waits for a silent copy before giving its
            partitions to the others (heartbeats every third of it). Default: 10000.
        group_instance_id (str | None): static group membership, a stable name per copy. Default: None.
        idle_timeout (float | None): stop after this many seconds without input; ``None``: run until
            SIGTERM. Default: None.
        metrics_port (int): port of ``/metrics``, ``/healthz`` and ``/readyz`` (0: any free one).
            Default: 9400.
        metrics_host (str): address that endpoint binds to. Default: ``"127.0.0.1"``.
        compression_type (str | None): Kafka batch compression of the output producer (``zstd`` where
            the outputs still hold redundancy: event records, records passed through). Default: None.

    :meth:`from_mapping` builds one from a dict and refuses unknown keys.
    """

    bridge: str
    input_topic: str
    output_topic: str
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    group_id: str | None = None
    dead_letter_topic: str | None = None
    transactional_id: str | None = None
    exactly_once: bool = True
    max_poll_records: int = 2000
    commit_interval_ms: int = 1000
    session_timeout_ms: int = 10000
    group_instance_id: str | None = None
    idle_timeout: float | None = None
    metrics_port: int = 9400
    metrics_host: str = "127.0.0.1"
    compression_type: str | None = None

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any]) -> BridgeConfig:
        """A config from a dict (``kafka`` a :class:`KafkaConfig` or a dict); unknown keys are refused."""
        values = dict(mapping)
        if isinstance(values.get("kafka"), dict):
            values["kafka"] = KafkaConfig.from_mapping(values["kafka"])
        return config_from_mapping(cls, values)

    @property
    def group(self) -> str:
        return self.group_id or f"latentwire-{self.bridge}-{self.input_topic}"

    @property
    def dead_letters(self) -> str:
        return self.dead_letter_topic or f"{self.input_topic}.dlq"

    def resolved_transactional_id(self) -> str | None:
        """The transactional id this copy uses; ``None`` without transactions."""
        if not self.exactly_once:
            return None
        return (
            self.transactional_id
            or f"latentwire-{self.bridge}-{self.input_topic}-{socket.gethostname()}-{os.getpid()}"
        )
