"""The denoising blend frozen in a bundle (the manifest's ``codec.denoise`` section).

Fitted at training time by :func:`compressor.applications.denoise.fit_blend`; used by
:func:`compressor.applications.denoise.denoise`. Only data here (no Keras), so the bundle can hold it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DenoiseBlend"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DenoiseBlend:
    """Weights of the denoising candidates per noise level, fitted on held-back records.

    Arguments:
        candidates (list[str]): what is blended, in weight order.
        levels (list[float]): noise levels fitted at, in units of each channel's training std.
        sigma_keys (list[float]): the noise the estimator measured at each level (increasing): the key
            a record's own estimate is interpolated against.
        weights (list[list[float]]): one weight per candidate for each level.
        heldback_gain_db (list[float]): the blend's PSNR gain on the held-back records at each level.
            Default: empty.
        heldback_single_gain_db (list[dict[str, float]]): each candidate's own gain at each level.
            Default: empty.
        calibration_records (int): held-back records fitted on. Default: 0.
        method (str): a description for reports. Default: a least-squares blend.
    """

    candidates: list[str]
    levels: list[float]
    sigma_keys: list[float]
    weights: list[list[float]]
    heldback_gain_db: list[float] = field(default_factory=list)
    heldback_single_gain_db: list[dict[str, float]] = field(default_factory=list)
    calibration_records: int = 0
    method: str = "least-squares blend"

    def to_json(self) -> dict[str, Any]:
        """The manifest section (its keys are the field names)."""
        return asdict(self)

    @classmethod
    def from_json(cls, section: Any) -> DenoiseBlend | None:
        """The blend in a manifest section, or None when there is none or it is unreadable (denoising then
        uses the model's reconstruction alone)."""
        if section is None:
            return None
        try:
            blend = cls(**section)
            rows = {len(w) for w in blend.weights}
            if rows != {len(blend.candidates)} or len(blend.weights) != len(blend.sigma_keys):
                raise ValueError("weights do not match the candidates and levels")
            return blend
        except (TypeError, ValueError) as exc:
            log.warning("the bundle's denoising blend is unreadable (%s); it is ignored", exc)
            return None
