"""What a producer can publish besides the compressed records: anomaly flags and learned features.

* **Anomaly flags**: a record whose reconstruction error (mean squared, in normalized units, from the
  unquantized latent: the score of ``latentwire detect``, see :mod:`compressor.anomaly`) exceeds the
  threshold calibrated at training time gets a header ``latentwire.anomaly`` holding its score, and, with an anomalies topic, a copy of its
  envelope is published there too. Records without the header were not flagged.
* **Features**: the encoder's latent vector of every record, as little-endian float32 bytes, to a features
  topic under the record's key (header ``latentwire.model`` names the model).

Both use the latents the codec computed while encoding the batch (fixed rate; error-bounded encoding makes
none, so the encoder runs once more); flags cost one more decoder pass. Both are off unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compressor.anomaly import scores_of
from compressor.codec import Codec
from compressor.errors import ConfigError

__all__ = ["ANOMALY_HEADER", "MODEL_HEADER", "Analysis", "SideOutputs"]

ANOMALY_HEADER = "latentwire.anomaly"
MODEL_HEADER = "latentwire.model"


@dataclass(frozen=True)
class Analysis:
    """What :meth:`SideOutputs.analyse` found in a batch.

    Arguments:
        scores (np.ndarray | None): ``(N,)`` anomaly scores, when detecting anomalies.
        flags (np.ndarray | None): ``(N,)`` bool, scores above the threshold.
        features (list[bytes] | None): one float32 latent vector per record, when publishing features.
    """

    scores: np.ndarray | None
    flags: np.ndarray | None
    features: list[bytes] | None


@dataclass(frozen=True)
class SideOutputs:
    """What a producer sends along with the envelopes: anomaly flags and feature records.

    Arguments:
        codec (Codec): the codec whose model scores and encodes the records.
        flag_anomalies (bool): mark anomalous records with a header. Default: False.
        anomalies_topic (str | None): where anomalous records are also sent. Default: None.
        features_topic (str | None): where each record's latent vector is sent. Default: None.
    """

    codec: Codec
    flag_anomalies: bool = False
    anomalies_topic: str | None = None
    features_topic: str | None = None

    def __post_init__(self) -> None:
        if self.detects and self.threshold is None:
            raise ConfigError(
                f"model {self.codec.model_id[:8]} has no calibrated anomaly threshold: retrain it to flag anomalies"
            )

    @property
    def detects(self) -> bool:
        return self.flag_anomalies or self.anomalies_topic is not None

    @property
    def enabled(self) -> bool:
        return self.detects or self.features_topic is not None

    @property
    def threshold(self) -> float | None:
        anomaly = self.codec.bundle.anomaly
        return None if anomaly is None else anomaly.threshold

    def analyse(self, records: np.ndarray, latents: np.ndarray | None = None) -> Analysis:
        """Scores, flags and features of a batch of valid records (N, D). ``latents`` are the batch's
        encoder outputs when the encoding already computed them (:attr:`Encoded.latents`); without them
        the encoder runs here."""
        if latents is None:
            latents = self.codec.latents(records)
        scores = flags = features = None
        if self.detects:
            normalized = self.codec.bundle.normalizer.forward(records)
            scores = scores_of(normalized, self.codec.decode_latents(latents))
            flags = scores > self.threshold
        if self.features_topic is not None:
            rows = np.ascontiguousarray(latents, dtype="<f4")
            features = [row.tobytes() for row in rows]
        return Analysis(scores, flags, features)
