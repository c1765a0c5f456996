"""What a producer can publish besides the compressed records: anomaly flags and learned features.

* **Anomaly flags**: every record gets a score, its reconstruction error (mean squared, in normalized
  units, from the unquantized latent: the score of ``latentwire detect``, see :mod:`compressor.anomaly`),
  and an anomaly likelihood from the scores of the records sent before it to the same topic with the same
  model (:mod:`producers.anomaly_flags`). By default a record is flagged when its likelihood reaches the
  level (0.9999, as ``detect``); with the ``threshold`` rule, when its score exceeds the threshold
  calibrated at training time. A flagged record gets a header ``latentwire.anomaly`` holding its score and
  one ``latentwire.anomaly.likelihood`` holding its likelihood, and, with an anomalies topic, a copy of its
  envelope is published there too. Records without the headers were not flagged.
* **Features**: the encoder's latent vector of every record, as little-endian float32 bytes, to a features
  topic under the record's key (header ``latentwire.model`` names the model).

Both use the latents the codec computed while encoding the batch (fixed rate; error-bounded encoding makes
none, so the encoder runs once more); flags cost one more decoder pass. Both are off unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from compressor.anomaly import scores_of
from compressor.applications.likelihood import LEVEL
from compressor.codec import Codec
from compressor.errors import ConfigError
from producers.anomaly_flags import AnomalyFlagger

__all__ = ["ANOMALY_HEADER", "LIKELIHOOD_HEADER", "MODEL_HEADER", "Analysis", "SideOutputs"]

ANOMALY_HEADER = "latentwire.anomaly"
LIKELIHOOD_HEADER = "latentwire.anomaly.likelihood"
MODEL_HEADER = "latentwire.model"


@dataclass(frozen=True)
class Analysis:
    """What :meth:`SideOutputs.analyse` found in a batch.

    Arguments:
        scores (np.ndarray | None): ``(N,)`` anomaly scores, when detecting anomalies.
        flags (np.ndarray | None): ``(N,)`` bool, the records flagged under the anomaly rule.
        likelihood (np.ndarray | None): ``(N,)`` anomaly likelihoods, when detecting anomalies.
        features (list[bytes] | None): one float32 latent vector per record, when publishing features.
    """

    scores: np.ndarray | None
    flags: np.ndarray | None
    likelihood: np.ndarray | None
    features: list[bytes] | None

    def flag_headers(self, j: int) -> list[tuple[str, bytes]]:
        """The headers a flagged record ``j`` carries: its score and its likelihood."""
        assert self.scores is not None and self.likelihood is not None
        return [
            (ANOMALY_HEADER, f"{self.scores[j]:.6g}".encode()),
            (LIKELIHOOD_HEADER, f"{self.likelihood[j]:.6g}".encode()),
        ]


@dataclass(frozen=True)
class SideOutputs:
    """What a producer sends along with the envelopes: anomaly flags and feature records.

    Arguments:
        codec (Codec): the codec whose model scores and encodes the records.
        flag_anomalies (bool): mark anomalous records with a header. Default: False.
        anomalies_topic (str | None): where anomalous records are also sent. Default: None.
        features_topic (str | None): where each record's latent vector is sent. Default: None.
        anomaly_rule (str): ``"likelihood"`` (flag by anomaly likelihood) or ``"threshold"`` (by the
            calibrated threshold, which the model must have). Default: ``"likelihood"``.
        likelihood_level (float): likelihood at or above which the likelihood rule flags. Default: 0.9999.
    """

    codec: Codec
    flag_anomalies: bool = False
    anomalies_topic: str | None = None
    features_topic: str | None = None
    anomaly_rule: str = "likelihood"
    likelihood_level: float = LEVEL
    flagger: AnomalyFlagger = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        threshold = self.threshold
        if self.detects and self.anomaly_rule == "threshold" and threshold is None:
            raise ConfigError(
                f"model {self.codec.model_id[:8]} has no calibrated anomaly threshold: retrain it to flag "
                "anomalies by threshold, or flag them by likelihood"
            )
        flagger = AnomalyFlagger(self.anomaly_rule, threshold, self.likelihood_level)
        object.__setattr__(self, "flagger", flagger)

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

    def analyse(self, records: np.ndarray, latents: np.ndarray | None = None, topic: str = "") -> Analysis:
        """Scores, flags and features of a batch of valid records (N, D), the next ones sent to ``topic``.
        ``latents`` are the batch's encoder outputs when the encoding already computed them
        (:attr:`Encoded.latents`); without them the encoder runs here."""
        if latents is None:
            latents = self.codec.latents(records)
        scores = flags = like = features = None
        if self.detects:
            normalized = self.codec.bundle.normalizer.forward(records)
            scores = scores_of(normalized, self.codec.decode_latents(latents))
            verdict = self.flagger((topic, self.codec.model_id), scores)
            flags, like = verdict.flags, verdict.likelihood
        if self.features_topic is not None:
            rows = np.ascontiguousarray(latents, dtype="<f4")
            features = [row.tobytes() for row in rows]
        return Analysis(scores, flags, like, features)
