"""The learned model in a bundle (``bundle.learned``, the manifest's ``codec.learned``): trained by
``latentwire train``, kept only where it pays.

The section always records what training measured on held-back records (bytes with and without kind 3 at
each bound tried). Its model (``"model"``) is present only when kind 3 made the held-back records smaller
at one of those bounds by at least :data:`MIN_GAIN`; otherwise the codec uses kinds 1 and 2 alone, exactly
as a bundle without the section.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compressor.errors import BundleError

__all__ = ["MIN_GAIN", "LearnedSection", "fit_learned", "learned_model_of"]

log = logging.getLogger(__name__)

#: held-back bytes must shrink by this fraction at some bound for the model to be kept
MIN_GAIN = 0.01
#: relative bounds (of the smallest column range) measured at training
TRAIN_BOUNDS = (1e-2, 1e-3)
#: held-back records measured at most
MAX_HELDBACK = 512


@dataclass(frozen=True)
class LearnedSection:
    """The bundle's learned-model section, as stored (plain JSON values).

    Arguments:
        layout (list[int]): ``[rows, cols]`` of the records it was trained for.
        heldback (dict[str, Any]): per bound tried, held-back bytes without and with kind 3. Default:
            empty.
        model (dict[str, Any] | None): the stored model (:class:`~compressor.learned.model.LearnedModel`),
            or None where it did not pay. Default: None.
        reason (str | None): why there is no model. Default: None.
        seconds (float | None): training time of the section. Default: None.
    """

    layout: list[int]
    heldback: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] | None = None
    reason: str | None = None
    seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"layout": list(self.layout), "heldback": self.heldback}
        for key in ("model", "reason", "seconds"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def describe(self) -> str:
        """One line for people: whether the model was kept (its version, and the period of a seasonal
        term), and what it did to the held-back records' bytes at each bound tried."""
        if self.model is None:
            head = f"not kept: {self.reason}" if self.reason else "not kept"
        else:
            version = self.model.get("version", 1)
            head = f"kept (version {version}"
            head += f", seasonal term of period {self.model['period']} rows)" if version >= 4 else ")"
        saved = [
            f"{name} {100 * (m['bytes_with'] / m['bytes_without'] - 1):+.1f}%"
            for name, m in self.heldback.items()
            if m.get("bytes_without")
        ]
        return head + (f"; held-back bytes {', '.join(saved)}" if saved else "")

    @classmethod
    def from_json(cls, spec: Any) -> LearnedSection | None:
        """The section of a manifest, or None when it is absent or not an object."""
        if not isinstance(spec, dict) or not isinstance(spec.get("layout"), list):
            return None
        model = spec.get("model")
        return cls(
            layout=list(spec["layout"]),
            heldback=spec.get("heldback") if isinstance(spec.get("heldback"), dict) else {},
            model=model if isinstance(model, dict) else None,
            reason=spec.get("reason"),
            seconds=spec.get("seconds"),
        )


def learned_model_of(bundle: Any):  # noqa: ANN201 - LearnedModel | None
    """The bundle's learned model, or None (no section, or a section that says it does not pay)."""
    section = getattr(bundle, "learned", None)
    if section is None or section.model is None:
        return None
    from compressor.learned.model import LearnedModel

    model = LearnedModel.from_json(section.model)
    layout = section.layout
    from compressor.bounded.predictors import record_layout

    expected = record_layout(bundle.record_size, bundle.window, bundle.channels, tuple(bundle.shape))
    if layout != list(expected) or model.cols != expected[1]:
        raise BundleError(f"learned model is for layout {layout}, the bundle's records are {list(expected)}")
    return model


def _bounds(bundle: Any) -> list[tuple[str, float]]:
    """The bounds measured at training: relative ones, and just below half the quantum (lossless) when
    every column has one."""
    from compressor.bounded.stats import value_ranges
    from compressor.error_bound import ErrorBound

    ranges = value_ranges(bundle)
    out: list[tuple[str, float]] = []
    if ranges is not None and (ranges > 0).any():
        smallest = float(ranges[ranges > 0].min())
        out += [(f"rel {rel:g}", rel * smallest) for rel in TRAIN_BOUNDS]
    lossless = ErrorBound.lossless_if_any(bundle)
    if lossless is not None:
        out.append(("lossless", lossless.value))
    return out


def fit_learned(bundle: Any, fit_records: np.ndarray, heldback: np.ndarray) -> LearnedSection:
    """Train the learned model of ``bundle`` on ``fit_records`` (N, D) float32 and measure it on
    ``heldback``: the bundle section (with the model only where it pays)."""
    return LearnedSection.from_json(_fit(bundle, fit_records, heldback))


def _fit(bundle: Any, fit_records: np.ndarray, heldback: np.ndarray) -> dict[str, Any]:
    from compressor.bounded.predictors import record_layout
    from compressor.codec import Codec
    from compressor.envelope import HEADER_SIZE
    from compressor.error_bound import ErrorBound
    from compressor.learned.model import LEVEL_SETS, SIGN_SETS
    from compressor.learned.records import LearnedRecords
    from compressor.learned.train import class_residuals, fit_context, fit_model, fit_tables

    started = time.monotonic()
    layout = record_layout(bundle.record_size, bundle.window, bundle.channels, tuple(bundle.shape))
    rows, cols = layout
    x = np.asarray(fit_records, np.float64).reshape(-1, rows, cols)
    x = x[np.isfinite(x).all(axis=(1, 2))]
    val = np.asarray(heldback, np.float32)
    val = val[np.isfinite(val).all(axis=1)][:MAX_HELDBACK]
    bounds = _bounds(bundle)
    section: dict[str, Any] = {"layout": [rows, cols], "heldback": {}}
    if len(x) < 2 or len(val) == 0 or not bounds or rows < 2:
        section["reason"] = "too little data or no value range to train on"
        return section
    model = fit_model(x)
    if not all(np.isfinite(a).all() for a in (model.w1, model.b1, model.w2, model.sigma, model.residual)):
        section["reason"] = "the learned model did not converge to finite weights"
        return section
    classical = {name: Codec(bundle, error_bound=e, exact_when_cheaper=False) for name, e in bounds}
    base = {name: [len(p) for p in codec.encode(val).payloads] for name, codec in classical.items()}
    grids = []
    for codec in classical.values():
        records = LearnedRecords(model, codec.bounded_coder)
        code = codec.error_bound.code
        lattice = records.lattice_for(code)
        q, raw = records.encoder.quantize(x.reshape(len(x), -1).astype(np.float32), code, lattice)
        keep = ~raw.any(axis=1)
        grids.append((q[keep].reshape(-1, rows, cols), records.params.steps(code, lattice)))
    best: tuple[float, Any, dict[str, Any]] | None = None
    lossless = ErrorBound.lossless_if_any(bundle)  # a version-3 model's records at it have no header
    # version 2: with and without limiting predictions to the training range; version 3: each table split
    # by the signs of the residuals before it and by the level of the prediction between the limits, or
    # not; whichever codes the held-back records smallest
    # version 4: with the seasonal term training found, and without it (version 3)
    variants = [model]
    if model.version >= 4:
        variants.append(dataclasses.replace(model, version=3, period=0, season=None))
    limit_sets = (model.limits, None) if model.limits is not None else (None,)
    for variant, limits in itertools.product(variants, limit_sets):
        plain = dataclasses.replace(variant, limits=limits)
        if plain.version >= 2:
            fit_context(plain, grids)
        coded = class_residuals(plain, grids)
        splits = [(1, 1)]
        if plain.version >= 3:
            splits = [(s, v) for s in SIGN_SETS for v in LEVEL_SETS if v == 1 or limits is not None]
        for signs, levels in splits:
            candidate = dataclasses.replace(plain, signs=signs, levels=levels)
            fit_tables(candidate, grids, coded)
            measured = {}
            for name, codec in classical.items():
                coder = LearnedRecords(candidate, codec.bounded_coder, lossless)
                learned, _, _ = coder.encode(val, codec.error_bound)
                smaller = [  # whole envelopes: the learned body plus the header a whole record carries
                    min(b, len(lb) + HEADER_SIZE) if lb is not None else b
                    for b, lb in zip(base[name], learned, strict=True)
                ]
                measured[name] = {"bytes_without": int(sum(base[name])), "bytes_with": int(sum(smaller))}
            total = sum(m["bytes_with"] for m in measured.values())
            if best is None or total < best[0]:
                best = (total, candidate, measured)
    _, model, section["heldback"] = best
    gains = {k: 1.0 - m["bytes_with"] / max(m["bytes_without"], 1) for k, m in section["heldback"].items()}
    section["seconds"] = round(time.monotonic() - started, 1)
    if max(gains.values()) >= MIN_GAIN:
        section["model"] = model.to_json()
    else:
        section["reason"] = "the learned model does not make held-back records smaller"
    log.info(
        "learned model: held-back bytes %s (%s, %.0f s)",
        ", ".join(f"{k} {100 * g:+.1f}%" for k, g in gains.items()),
        "kept" if "model" in section else "not kept",
        section["seconds"],
    )
    return section
