"""Measure latentwire against baseline codecs on the same records: size, error and speed.

Every record is compressed on its own, as it would travel as one Kafka record: latentwire's size is the
whole envelope (header and framing included), each baseline's the bytes its library produces for that
record. Errors are measured on what the receiver decodes, over every finite value.

With an error bound, ``latentwire-classical`` is the same codec with every learned part switched off (no
autoencoder predictor, no fitted tables or scales), decoded by a consumer configured likewise (a measurement,
not a wire mode): latentwire / latentwire-classical is the learned gain.
Without an error bound, latentwire runs in fixed-rate mode and the lossy baselines get latentwire's
measured max error as their bound, so they are compared at equal worst-case error. Each lossy baseline is
also reported at equal quality (``NAME@psnr``): at the largest bound whose PSNR is at least latentwire's.
A fixed-rate model minimizes squared error and bounds no single value, so an error-bounded coder given
its worst error fills the whole band and reconstructs far worse on average; the equal-PSNR row is the
rate-distortion comparison of the learned-compression literature.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from compressor.error_bound import ErrorBound

__all__ = [
    "AT_PSNR",
    "CodecResult",
    "equal_psnr_bound",
    "evaluate",
    "plot_rate_distortion",
    "record_shape",
    "sweep",
]

log = logging.getLogger(__name__)

DEFAULT_SWEEP = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4)
#: suffix of a lossy baseline's result at latentwire's PSNR (fixed-rate mode)
AT_PSNR = "@psnr"
#: records an equal-PSNR search runs on (spread over the batch; the bound found is measured on all)
MATCH_RECORDS = 256
#: halvings of the bracket in an equal-PSNR search (the bound is found to within 2**(1/2**MATCH_STEPS))
MATCH_STEPS = 8
#: latentwire's timings are the best of this many runs (baselines run once: their speed is not a target)
REPEATS = 3


@dataclass(frozen=True)
class CodecResult:
    """How one codec did on a set of records.

    Arguments:
        ratio (float): raw float32 bytes over compressed bytes.
        max_abs_error (float): largest absolute error of any finite value.
        nrmse (float): root mean squared error over the data's value range.
        psnr_db (float): peak signal-to-noise ratio, in dB.
        encode_mb_s (float): raw megabytes encoded per second.
        decode_mb_s (float): raw megabytes decoded per second.
        bytes (int): compressed size of all the records.
    """

    ratio: float
    max_abs_error: float
    nrmse: float
    psnr_db: float
    encode_mb_s: float
    decode_mb_s: float
    bytes: int

    def to_json(self) -> dict[str, float]:
        out = asdict(self)
        out.pop("bytes")
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


def record_shape(bundle: Any) -> tuple[int, ...]:
    """How a baseline sees one record: (window, channels) for series, the image shape, or (D,)."""
    from compressor.bounded.predictors import record_layout

    rows, cols = record_layout(bundle.record_size, bundle.window, bundle.channels, tuple(bundle.shape))
    return (rows,) if cols == 1 else (rows, cols)


def _quality(original: np.ndarray, decoded: np.ndarray) -> tuple[float, float, float]:
    x = np.asarray(original, dtype=np.float64)
    y = np.asarray(decoded, dtype=np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return 0.0, 0.0, float("inf")
    with np.errstate(invalid="ignore"):
        diff = np.where(finite, y - x, 0.0)
    diff[finite & ~np.isfinite(y)] = np.inf
    max_err = float(np.abs(diff).max())
    mse = float(np.mean(diff[finite] ** 2))
    span = float(x[finite].max() - x[finite].min()) or 1.0
    nrmse = float(np.sqrt(mse) / span)
    psnr = float("inf") if mse == 0 else float(20 * np.log10(span) - 10 * np.log10(mse))
    return max_err, nrmse, psnr


def _latentwire(
    bundle: Any, records: np.ndarray, error_bound: ErrorBound | None, learned: bool = True
) -> tuple[CodecResult, np.ndarray]:
    from compressor.codec import Codec
    from compressor.envelope import unpack

    producer = Codec(bundle, error_bound=error_bound, learned=learned)
    consumer = Codec(bundle, learned=learned)
    producer.encode(records[:2])  # first-call setup (tables, tracing) is not throughput
    consumer.decode([unpack(p) for p in producer.encode(records[:2]).payloads])
    t_enc = t_dec = float("inf")
    for _ in range(REPEATS):  # best of a few: the machine is shared, the minimum is the codec's own cost
        started = time.perf_counter()
        encoded = producer.encode(records)
        t_enc = min(t_enc, time.perf_counter() - started)
        started = time.perf_counter()
        decoded = np.stack(consumer.decode([unpack(p) for p in encoded.payloads]))
        t_dec = min(t_dec, time.perf_counter() - started)
    if not np.array_equal(decoded.view(np.uint32), encoded.decoded.view(np.uint32)):
        raise AssertionError("the consumer decoded other values than the producer computed")
    size = sum(len(p) for p in encoded.payloads)
    max_err, nrmse, psnr = _quality(records, decoded)
    mb = records.nbytes / 1e6
    return CodecResult(records.nbytes / size, max_err, nrmse, psnr, mb / t_enc, mb / t_dec, size), decoded


def _baseline(baseline: Any, records: np.ndarray, shape: tuple[int, ...], bound: float) -> CodecResult:
    started = time.perf_counter()
    blobs = [baseline.encode(r, shape, bound) for r in records]
    t_enc = time.perf_counter() - started
    started = time.perf_counter()
    decoded = np.stack([baseline.decode(b, shape, bound).reshape(-1) for b in blobs])
    t_dec = time.perf_counter() - started
    size = sum(len(b) for b in blobs)
    max_err, nrmse, psnr = _quality(records, decoded)
    mb = records.nbytes / 1e6
    return CodecResult(records.nbytes / size, max_err, nrmse, psnr, mb / t_enc, mb / t_dec, size)


def equal_psnr_bound(
    baseline: Any, records: np.ndarray, shape: tuple[int, ...], target_db: float, start: float
) -> float:
    """The largest bound (to within the search's precision) at which ``baseline`` reconstructs
    ``records`` with a PSNR of at least ``target_db``: the bound is doubled or halved from ``start`` until
    it brackets the target, then the bracket is halved on the logarithm :data:`MATCH_STEPS` times. The
    search runs on up to :data:`MATCH_RECORDS` records spread over the batch."""
    sample = records[:: max(1, len(records) // MATCH_RECORDS)][:MATCH_RECORDS]

    def meets(bound: float) -> bool:
        return _baseline(baseline, sample, shape, bound).psnr_db >= target_db

    lo = hi = max(float(start), 1e-30)
    if meets(lo):
        for _ in range(40):  # up to 2**40 times the start: a bound past the data's range codes nothing
            hi = lo * 2.0
            if not meets(hi):
                break
            lo = hi
        else:
            return lo
    else:
        for _ in range(60):
            lo = hi / 2.0
            if meets(lo):
                break
            hi = lo
        else:
            return lo  # nothing reaches the target: the smallest bound tried
    for _ in range(MATCH_STEPS):
        mid = float(np.sqrt(lo * hi))
        lo, hi = (mid, hi) if meets(mid) else (lo, mid)
    return lo


def evaluate(
    bundle: Any,
    records: np.ndarray,
    error_bound: ErrorBound | None = None,
    baselines: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Results for latentwire and each available baseline on ``records`` (N, D) float32.

    Returns ``{"records", "error_bound", "codecs": {name: CodecResult}, "skipped": {name: reason}}``, the
    bound as its absolute value (None in fixed-rate mode).
    """
    from compressor.baselines import available_baselines, missing_baselines

    records = np.ascontiguousarray(records, dtype=np.float32)
    if records.ndim != 2 or records.shape[0] == 0:
        raise ValueError(f"need a non-empty (N, D) batch of records, got shape {records.shape}")
    results: dict[str, CodecResult] = {}
    results["latentwire"], _ = _latentwire(bundle, records, error_bound)
    if error_bound is not None:  # the same codec with every learned part off: the learned gain, visible
        results["latentwire-classical"], _ = _latentwire(bundle, records, error_bound, learned=False)
    bound = error_bound.value if error_bound is not None else max(results["latentwire"].max_abs_error, 1e-30)
    shape = record_shape(bundle)
    target = results["latentwire"].psnr_db
    for name, baseline in available_baselines(list(baselines) if baselines else None).items():
        results[name] = _baseline(baseline, records, shape, bound)
        if error_bound is None and not baseline.lossless and np.isfinite(target):
            results[name + AT_PSNR] = _baseline(
                baseline, records, shape, equal_psnr_bound(baseline, records, shape, target, bound)
            )
    return {
        "records": int(records.shape[0]),
        "error_bound": None if error_bound is None else error_bound.value,
        "codecs": results,
        "skipped": missing_baselines(list(baselines) if baselines else None),
    }


def sweep(
    bundle: Any,
    records: np.ndarray,
    bounds: Sequence[ErrorBound],
    baselines: Sequence[str] | None = None,
) -> dict[str, list[tuple[float, float, float, float]]]:
    """Per codec, ``(bound, bits per value, max abs error, PSNR dB)`` for each bound."""
    curves: dict[str, list[tuple[float, float, float, float]]] = {}
    for bound in bounds:
        report = evaluate(bundle, records, bound, baselines)
        for name, res in report["codecs"].items():
            point = (bound.value, 32.0 / res.ratio, res.max_abs_error, res.psnr_db)
            curves.setdefault(name, []).append(point)
    return curves


def plot_rate_distortion(
    curves: dict[str, list[tuple[float, float, float, float]]], path: str, title: str = ""
) -> None:
    """Two panels, bits/value against max error and against PSNR, one line per codec; written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_err, ax_psnr) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, points in curves.items():
        pts = sorted(points)
        bits = [p[1] for p in pts]
        style = {"linewidth": 2.5} if name == "latentwire" else {"linewidth": 1.2}
        if all(p[2] == 0 for p in pts):  # lossless: one rate whatever the bound
            for ax in (ax_err, ax_psnr):
                ax.axhline(float(np.mean(bits)), linestyle="--", color="gray", label=f"{name} (lossless)")
            continue
        ax_err.plot([max(p[2], 1e-30) for p in pts], bits, marker="o", label=name, **style)
        ax_psnr.plot(
            [p[3] if np.isfinite(p[3]) else np.nan for p in pts], bits, marker="o", label=name, **style
        )
    ax_err.set_xscale("log")
    ax_err.set_xlabel("max abs error")
    ax_psnr.set_xlabel("PSNR (dB)")
    for ax in (ax_err, ax_psnr):
        ax.set_ylabel("bits per value (framing included)")
        ax.grid(True, alpha=0.3)
    ax_err.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
