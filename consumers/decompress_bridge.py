"""The decompress bridge's transform: envelopes of one poll batch in, raw records out.

Decoding goes through :class:`consumers.BatchingConsumer` (one decoder call per model id in the batch);
decoders come from the :class:`consumers.ModelResolver`, to which the model registry topic is added as
a source, so a producer can roll to a new model while this bridge runs. JSON records are rebuilt from
the ``latentwire.fields`` header, other records come out as little-endian float32 bytes. Tombstones
pass through as tombstones.

Drift: this side never sees the originals, so it watches a codec-side signal. For fixed-rate records it
is the fraction of latent codes at the quantizer's two limits (0 or ``2**bits - 1``): the encoder only
saturates them for inputs outside what it was trained on (training fits the limits with a 5 % margin
beyond every latent seen, so on training-like data the fraction stays near 0). Error-bounded records
are not scored.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

import numpy as np

from compressor.drift import DriftMonitor
from compressor.envelope import Kind, unpack
from compressor.errors import DataError, LatentwireError
from consumers.batching import BatchingConsumer, DecodedRecord, FailedRecord
from consumers.resolver import ModelResolver
from streaming.bridge_loop import Output, Rejected, TransformResult
from streaming.metrics import BridgeMetrics
from streaming.raw_records import FIELDS_HEADER, restore

__all__ = ["DecompressTransform"]

log = logging.getLogger(__name__)


class DecompressTransform:
    """The decompress bridge's transform: a poll batch of envelopes in, raw records out.

    Arguments:
        resolver (ModelResolver): finds the decoder for each model id.
        input_topic (str): the topic the envelopes come from (a metric label).
        metrics (BridgeMetrics | None): where records, errors and drift are recorded.
            Default: None, the instance shared on the default Prometheus registry.
        drift_window (int): records the saturation fraction is averaged over, per model. Default: 5000.
        drift_threshold (float): the fraction of latent codes at the quantizer's limits past which a
            model's input is drifting. Default: 0.05.
    """

    bridge = "decompress"

    def __init__(
        self,
        resolver: ModelResolver,
        input_topic: str,
        *,
        metrics: BridgeMetrics | None = None,
        drift_window: int = 5000,
        drift_threshold: float = 0.05,
    ) -> None:
        self.resolver = resolver
        self.topic = input_topic
        self.metrics = metrics or BridgeMetrics.get()
        self.decoder = BatchingConsumer(None, resolver)
        self.drift_window = drift_window
        self.drift_threshold = drift_threshold
        self._drift: dict[str, DriftMonitor] = {}

    def __call__(self, messages: list[Any]) -> TransformResult:
        decoded = {(r.partition, r.offset): r for r in self.decoder.decode_messages(messages)}
        items: list[Output | Rejected] = []
        output_bytes = 0
        counts: dict[str, int] = defaultdict(int)
        for msg in messages:
            if msg.value is None:
                items.append(Output(None, list(msg.headers or [])))
                continue
            result = decoded[(msg.partition, msg.offset)]
            if isinstance(result, FailedRecord):
                items.append(Rejected(result.error))
                continue
            assert isinstance(result, DecodedRecord)
            header = next((v for k, v in (msg.headers or []) if k == FIELDS_HEADER), None)
            try:
                value = restore(result.values, header)
            except DataError as exc:
                items.append(Rejected(exc))
                continue
            headers = [(k, v) for k, v in (msg.headers or []) if k != FIELDS_HEADER]
            items.append(Output(value, headers))
            output_bytes += len(value) + sum(len(k) + len(v) for k, v in headers)
            counts[result.model_id[:8]] += 1
        saturation = self._saturation(messages)

        def on_commit() -> None:
            m, now = self.metrics, time.time()
            for model, n in counts.items():
                labels = (self.bridge, self.topic, model)
                m.records.labels(*labels).inc(n)
                m.model_last_seen.labels(*labels).set(now)
            for model, values in saturation.items():
                self._observe_drift(model, values)

        return TransformResult(items, output_bytes, on_commit=on_commit)  # type: ignore[arg-type]

    def _saturation(self, messages: list[Any]) -> dict[str, np.ndarray]:
        """Per model: the fraction of latent codes at the quantizer's limits, one value per record."""
        groups: dict[bytes, list[bytes]] = defaultdict(list)
        for msg in messages:
            if msg.value is None:
                continue
            try:
                env = unpack(msg.value)
            except LatentwireError:
                continue
            if env.kind == Kind.FIXED_RATE:
                groups[env.model_id].append(env.payload)
        out: dict[str, np.ndarray] = {}
        for wire_id, payloads in groups.items():
            try:
                codec = self.resolver.codec(wire_id)
            except LatentwireError:
                continue
            quantizer = codec.bundle.quantizer
            payloads = [p for p in payloads if len(p) == quantizer.payload_size]
            if not payloads:
                continue
            codes = quantizer.from_bytes(payloads)
            out[codec.model_id[:8]] = np.mean((codes == 0) | (codes == quantizer.levels - 1), axis=1)
        return out

    def _observe_drift(self, model: str, values: np.ndarray) -> None:
        monitor = self._drift.get(model)
        labels = (self.bridge, self.topic, model)
        m = self.metrics
        if monitor is None:
            monitor = self._drift[model] = DriftMonitor(self.drift_window, self.drift_threshold)
            m.drift_threshold.labels(*labels).set(self.drift_threshold)
        state = monitor.update(values)
        m.drift_score.labels(*labels).set(state.score)
        m.drift.labels(*labels).set(1 if state.drifting else 0)
        if state.changed and state.drifting:
            log.warning(
                "drift on %s (model %s): %.1f%% of latent codes over the last %d records sit at "
                "the quantizer's limits (threshold %.1f%%): the data no longer looks like the training data",
                self.topic,
                model,
                100 * state.score,
                state.records,
                100 * self.drift_threshold,
            )
        elif state.changed:
            log.warning("drift on %s (model %s) is over", self.topic, model)
