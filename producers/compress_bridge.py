"""The compress bridge's transform: raw records of one poll batch in, envelopes out, one model call.

It knows the originals, so it measures what consumers will get: per-record RMSE, values outside the
error bound (error-bounded codec; should never happen), anomalies (each record's score, the delivered
reconstruction's normalized MSE, gets an anomaly likelihood from the records before it on the same topic
with the same model, :mod:`producers.anomaly_flags`; a record is counted when its likelihood reaches the
level, or with the ``threshold`` rule when its score exceeds the bundle's calibrated threshold), and drift: the mean RMSE over a
sliding window divided by the model's held-back RMSE from training. Past ``drift_threshold`` the
``latentwire_bridge_drift`` gauge goes to 1 and a warning is logged (once per change).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from compressor.anomaly import scores_of
from compressor.applications.likelihood import LEVEL
from compressor.codec import Codec
from compressor.drift import DriftMonitor
from compressor.errors import DataError
from compressor.quality import measure
from producers.anomaly_flags import AnomalyFlagger
from streaming.bridge_loop import Output, Rejected, TransformResult
from streaming.metrics import BridgeMetrics, observe_many
from streaming.raw_records import FIELDS_HEADER, RecordFormat

__all__ = ["CompressTransform"]

log = logging.getLogger(__name__)


class CompressTransform:
    """The compress bridge's transform: a poll batch of raw records in, envelopes out, one model call.

    Arguments:
        codec (Codec): the codec records are encoded with.
        record_format (RecordFormat): how raw records are read (JSON fields or float32 arrays).
        input_topic (str): the topic the raw records come from (a metric label).
        metrics (BridgeMetrics | None): where records, quality, anomalies and drift are recorded.
            Default: None, the instance shared on the default Prometheus registry.
        drift_window (int): records the RMSE is averaged over. Default: 5000.
        drift_threshold (float): the ratio of that mean to the model's held-back RMSE past which the input
            is drifting. Default: 2.0.
        anomaly_rule (str): ``"likelihood"`` (count records whose anomaly likelihood reaches
            ``anomaly_likelihood``) or ``"threshold"`` (whose score exceeds the bundle's calibrated
            threshold; nothing is counted without one). Default: ``"likelihood"``.
        anomaly_likelihood (float): the likelihood level of the likelihood rule. Default: 0.9999.
    """

    bridge = "compress"

    def __init__(
        self,
        codec: Codec,
        record_format: RecordFormat,
        input_topic: str,
        *,
        metrics: BridgeMetrics | None = None,
        drift_window: int = 5000,
        drift_threshold: float = 2.0,
        anomaly_rule: str = "likelihood",
        anomaly_likelihood: float = LEVEL,
    ) -> None:
        self.codec = codec
        self.format = record_format
        self.topic = input_topic
        self.metrics = metrics or BridgeMetrics.get()
        bundle = codec.bundle
        self.baseline_rmse = float(bundle.training.get("heldback_rmse") or 0.0) or None
        self.anomaly_threshold = None if bundle.anomaly is None else bundle.anomaly.threshold
        self.anomalies: AnomalyFlagger | None = None
        if anomaly_rule != "threshold" or self.anomaly_threshold is not None:
            self.anomalies = AnomalyFlagger(anomaly_rule, self.anomaly_threshold, anomaly_likelihood)
        self.drift = DriftMonitor(drift_window, drift_threshold)
        self._labels = (self.bridge, input_topic, codec.model_id[:8])
        m = self.metrics
        m.drift_threshold.labels(*self._labels).set(drift_threshold)
        m.drift.labels(*self._labels).set(0)
        for counter in (m.records, m.bound_violations, m.anomalies):
            counter.labels(*self._labels).inc(0)
        m.input_zstd_bytes.labels(self.bridge, input_topic).inc(0)
        self._zstd = None

    def __call__(self, messages: list[Any]) -> TransformResult:
        items: list[Output | Rejected | None] = [None] * len(messages)
        rows, kept, headers = [], [], []
        for i, msg in enumerate(messages):
            try:
                parsed = self.format.parse(
                    msg.value, self.codec.record_size, allow_non_finite=self.codec.is_bounded
                )
            except DataError as exc:
                items[i] = Rejected(exc)
                continue
            rows.append(parsed.values)
            kept.append(i)
            headers.append(parsed.header)
        output_bytes = 0
        commit_actions = []
        if rows:
            records = np.stack(rows)
            encoded = self.codec.encode(records)  # the one model call of this batch
            for i, payload, header in zip(kept, encoded.payloads, headers, strict=True):
                out_headers = [(k, v) for k, v in (messages[i].headers or []) if k != FIELDS_HEADER]
                if header is not None:
                    out_headers.append((FIELDS_HEADER, header))
                items[i] = Output(payload, out_headers)
                output_bytes += len(payload) + sum(len(k) + len(v) for k, v in out_headers)
            commit_actions.append(lambda: self._observe(records, encoded.decoded))
        raw = b"".join(msg.value for msg in messages if msg.value is not None)
        commit_actions.append(lambda: self._count_zstd(raw))
        return TransformResult(
            items,  # type: ignore[arg-type]
            output_bytes,
            on_commit=lambda: [action() for action in commit_actions] and None,
        )

    def _count_zstd(self, raw: bytes) -> None:
        if self._zstd is None:
            import zstandard

            self._zstd = zstandard.ZstdCompressor(level=3)
        self.metrics.input_zstd_bytes.labels(self.bridge, self.topic).inc(len(self._zstd.compress(raw)))

    def _observe(self, original: np.ndarray, decoded: np.ndarray) -> None:
        m, labels = self.metrics, self._labels
        m.records.labels(*labels).inc(len(original))
        m.model_last_seen.labels(*labels).set(time.time())
        finite = np.isfinite(original).all(axis=1)
        quality = measure(original[finite], decoded[finite])
        observe_many(m.rmse.labels(*labels), quality.rmse)
        bound = self.codec.error_bound
        if bound is not None:
            diff = np.abs(decoded.astype(np.float64) - original.astype(np.float64))
            same = (np.isnan(original) & np.isnan(decoded)) | (original == decoded)
            bad = int(((diff > bound.value) & ~same).sum())
            if bad:
                m.bound_violations.labels(*labels).inc(bad)
                log.error("%d value(s) of %s decode outside the bound %g", bad, self.topic, bound.value)
        if self.anomalies is not None and finite.any():
            norm = self.codec.bundle.normalizer
            scores = scores_of(norm.forward(original[finite]), norm.forward(decoded[finite]))
            verdict = self.anomalies((self.topic, self.codec.model_id), scores)
            flagged = int(verdict.flags.sum())
            if flagged:
                m.anomalies.labels(*labels).inc(flagged)
            m.anomaly_likelihood.labels(*labels).set(float(verdict.likelihood[-1]))
        if quality.rmse.size:
            baseline = self.baseline_rmse or 1.0
            state = self.drift.update(quality.rmse / baseline)
            m.window_rmse.labels(*labels).set(state.score * baseline)
            if self.baseline_rmse:
                m.drift_score.labels(*labels).set(state.score)
                m.drift.labels(*labels).set(1 if state.drifting else 0)
                if state.changed and state.drifting:
                    log.warning(
                        "drift on %s: reconstruction RMSE over the last %d records is %.2fx the model's "
                        "held-back RMSE (threshold %.2fx); consider `latentwire train --from-topic %s`",
                        self.topic,
                        state.records,
                        state.score,
                        self.drift.threshold,
                        self.topic,
                    )
                elif state.changed:
                    log.warning("drift on %s is over: RMSE ratio back to %.2fx", self.topic, state.score)
