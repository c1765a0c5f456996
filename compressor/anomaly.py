"""Anomaly scoring by reconstruction error, and the threshold calibrated at training time.

A record's score is the mean squared difference between the normalized record and a reconstruction of it,
in normalized units; a record whose values are not all finite scores ``inf``. Training calibrates the
threshold (a high quantile of the held-back records' scores) and freezes it in the bundle as an
:class:`AnomalyCalibration`, the manifest's ``codec.anomaly`` section. Everything that scores or flags
records uses this module: ``latentwire detect`` (:mod:`compressor.applications.anomaly`), the producer's
anomaly flags and the compress bridge's anomaly counter.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from compressor.errors import BundleError

if TYPE_CHECKING:
    from compressor.bundle import Bundle

__all__ = [
    "DEFAULT_QUANTILE",
    "SCORE_NAME",
    "AnomalyCalibration",
    "calibrate",
    "reconstruction_errors",
    "reference_sample",
    "scores_of",
    "threshold_of",
]

log = logging.getLogger(__name__)

#: the validation-score quantile used as threshold: about 1% of normal records are flagged
DEFAULT_QUANTILE = 0.99
#: at most this many values of training records are kept in a bundle as the anomaly reference (1 MiB)
REFERENCE_VALUES = 1 << 18
#: the name of the score, recorded with the calibration
SCORE_NAME = "reconstruction_mse_normalized"


@dataclass(frozen=True)
class AnomalyCalibration:
    """The anomaly threshold frozen in a bundle (the manifest's ``codec.anomaly`` section).

    Arguments:
        threshold (float): records scoring above it are anomalies (``inf`` when calibrated on no records).
        quantile (float): the quantile of the calibration records' scores taken as ``threshold``.
            Default: :data:`DEFAULT_QUANTILE`.
        calibration_records (int): how many held-back records the threshold was calibrated on. Default: 0.
        calibration_mean (float): their mean score. Default: 0.0.
        score (str): the name of the score the threshold applies to. Default: :data:`SCORE_NAME`.
    """

    threshold: float
    quantile: float = DEFAULT_QUANTILE
    calibration_records: int = 0
    calibration_mean: float = 0.0
    score: str = SCORE_NAME

    def to_json(self) -> dict[str, Any]:
        """The manifest section (its keys are the field names)."""
        return asdict(self)

    @classmethod
    def from_json(cls, section: Any) -> AnomalyCalibration | None:
        """The calibration in a manifest section, or None when there is none or it is unreadable (a bundle
        without a usable threshold: detection then needs an explicit one)."""
        if section is None:
            return None
        threshold = section.get("threshold") if isinstance(section, dict) else None
        if not isinstance(threshold, int | float) or isinstance(threshold, bool) or math.isnan(threshold):
            log.warning("the bundle's anomaly calibration has no usable threshold; it is ignored")
            return None
        defaults = cls(threshold)
        return cls(
            threshold=threshold,
            quantile=section.get("quantile", defaults.quantile),
            calibration_records=section.get("calibration_records", defaults.calibration_records),
            calibration_mean=section.get("calibration_mean", defaults.calibration_mean),
            score=section.get("score", defaults.score),
        )


def scores_of(normalized: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """The anomaly score of each record (N,): mean squared difference between ``normalized`` records (N, D)
    and their ``reconstruction`` (N, D), both in normalized units; ``inf`` where either is not finite."""
    diff = np.asarray(reconstruction, dtype=np.float64) - np.asarray(normalized)
    with np.errstate(invalid="ignore", over="ignore"):
        scores = np.mean(diff * diff, axis=1)
    return np.where(np.isfinite(scores), scores, np.inf)


def _model_scores(encoder: Any, decoder: Any, x_norm: np.ndarray) -> np.ndarray:
    """Scores of normalized records against the model's own (unquantized) reconstruction."""
    from compressor.inference import Predictor

    x_norm = np.asarray(x_norm, np.float32)
    if len(x_norm) == 0:
        return np.zeros(0, np.float64)
    return scores_of(x_norm, Predictor(decoder)(Predictor(encoder)(x_norm)))


def calibrate(
    encoder: Any, decoder: Any, x_norm: np.ndarray, quantile: float = DEFAULT_QUANTILE
) -> AnomalyCalibration:
    """The threshold: ``quantile`` of the scores of the normalized held-back records ``x_norm``."""
    errors = _model_scores(encoder, decoder, x_norm)
    return AnomalyCalibration(
        threshold=float(np.quantile(errors, quantile)) if len(errors) else float("inf"),
        quantile=float(quantile),
        calibration_records=int(len(errors)),
        calibration_mean=float(errors.mean()) if len(errors) else 0.0,
    )


def reconstruction_errors(bundle: Bundle, records: np.ndarray) -> np.ndarray:
    """Anomaly score of each record (N,) in original units against the bundle's unquantized reconstruction.
    Records holding NaN/Inf score ``inf``."""
    records = np.asarray(records, np.float32)
    finite = np.isfinite(records).all(axis=1)
    out = np.full(len(records), np.inf)
    x_norm = bundle.normalizer.forward(records[finite]).astype(np.float32)
    if len(x_norm):
        out[finite] = scores_of(x_norm, bundle.predictor("decoder")(bundle.predictor("encoder")(x_norm)))
    return out


def threshold_of(bundle: Bundle) -> float:
    """The bundle's calibrated threshold; :class:`BundleError` when it has none."""
    if bundle.anomaly is None:
        raise BundleError(
            "the bundle has no calibrated anomaly threshold (bundles trained before anomaly calibration); "
            "retrain it or pass a threshold"
        )
    return bundle.anomaly.threshold


def reference_sample(records: np.ndarray, max_values: int = REFERENCE_VALUES) -> np.ndarray:
    """Training records (N, D) kept as the anomaly reference: all of them, or evenly spaced ones when they
    hold more than ``max_values`` values (at least one record)."""
    records = np.asarray(records, np.float32)
    keep = max(1, max_values // max(records.shape[1], 1))
    if len(records) <= keep:
        return records.copy()
    return records[np.linspace(0, len(records) - 1, keep).round().astype(int)]
