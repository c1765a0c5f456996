"""Score reconstruction-error anomaly detection on the Numenta Anomaly Benchmark (NAB v1.1).

For every one of the 58 NAB series, streaming and causal:

1. a record is a sliding window of the last ``--window`` points; a fresh autoencoder (``--model``) is
   trained with :func:`compressor.training.train` on the windows of the probationary first 15% only (the
   part NAB leaves unscored), which also calibrates the bundle's anomaly threshold;
2. the point ``t``'s raw score is the reconstruction error of the window ending at ``t``: it uses only
   data up to ``t``;
3. the raw score becomes a likelihood: the mean of the last ``--short`` log-errors compared with the mean
   and standard deviation of all earlier log-errors (``1 - Q(z)``, Gaussian tail), again causal;
4. a detection is a likelihood above the threshold, and after a detection the detector stays quiet for
   ``--refractory`` points (one alarm per event).

The *combined* detector (:func:`compressor.applications.combined.causal`, what ``detect`` locates with, in
its streaming form) replaces step 3's input with the sum of three causal z-scores per point: the
reconstruction error and the nearest-neighbour distance of the window ending at ``t`` (to the probationary
windows kept in the bundle and every earlier window sharing no point with it), each against its own past,
and the flatness of the last points against the probationary part; its threshold is swept as a z-score
(its Gaussian-tail likelihood saturates at 1 above z = 8).

Scored with :mod:`compressor.applications.nab_scoring` under the three profiles of ``profiles.json``. As in
NAB, one threshold per profile is chosen for the whole corpus (NAB's threshold optimisation); the report
also gives the score with the bundle's own calibrated threshold (no label use at all) and the window
precision/recall at each chosen threshold.

    python benchmarks/nab_benchmark.py --model vanilla --json benchmarks/results/nab_vanilla.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compressor.applications.nab_scoring import (  # noqa: E402
    load_profiles,
    normalized_score,
    probationary_length,
    score_file,
    window_indices,
)

DATA_DIR = Path(
    os.environ.get("LATENTWIRE_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
PUBLISHED = {"Windowed Gaussian": 39.6, "Random Cut Forest": 51.7, "KNN CAD": 58.0, "Numenta HTM": 70.5}


def read_series(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open() as fh:
        rows = list(csv.reader(fh))[1:]
    return [r[0] for r in rows], np.array([float(r[1]) for r in rows], np.float32)


def sliding(values: np.ndarray, w: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(values, w).astype(np.float32)


def likelihood(errors: np.ndarray, start: int, short: int) -> np.ndarray:
    """Causal anomaly likelihood in [0, 1] of each point's error (0 before ``start``)."""
    e = np.log(np.maximum(errors, 1e-12))
    n = len(e)
    out = np.zeros(n)
    csum = np.concatenate([[0.0], np.cumsum(e)])
    csq = np.concatenate([[0.0], np.cumsum(e * e)])
    for t in range(start, n):
        hist = t - short + 1  # errors before the short window
        if hist < 10:
            continue
        mean = csum[hist] / hist
        var = max(csq[hist] / hist - mean * mean, 1e-6)
        recent = (csum[t + 1] - csum[t - short + 1]) / short
        z = (recent - mean) / math.sqrt(var)
        out[t] = 0.5 * math.erfc(-z / math.sqrt(2))  # Gaussian CDF of z
    return out


def detect(score: np.ndarray, threshold: float, refractory: int) -> np.ndarray:
    flags = np.zeros(len(score), bool)
    quiet_until = -1
    for i in np.flatnonzero(score >= threshold):
        if i > quiet_until:
            flags[i] = True
            quiet_until = i + refractory
    return flags


def run_file(name: str, args: argparse.Namespace) -> dict:
    from compressor.anomaly import reconstruction_errors
    from compressor.applications.combined import causal
    from compressor.training import TrainingConfig, train

    timestamps, values = read_series(DATA_DIR / "nab" / "data" / name)
    n = len(values)
    w = args.window
    probation = int(probationary_length(n))
    train_windows = sliding(values[:probation], w)
    config = TrainingConfig(
        model=args.model,
        latent_dim=args.latent_dim,
        epochs=args.epochs,
        batch_size=32,
        patience=5,
        seed=args.seed,
        options=json.loads(args.options),
    )
    bundle, _ = train(train_windows, window=w, channels=1, config=config, progress=False)
    errors = np.zeros(n)
    errors[w - 1 :] = reconstruction_errors(bundle, sliding(values, w))
    errors[: w - 1] = errors[w - 1]
    combined = causal(bundle, values[:, None], short=args.short)
    return {
        "name": name,
        "timestamps": timestamps,
        "errors": errors,
        "likelihood": likelihood(errors, w - 1, args.short),
        "combined": combined.score,
        "components": combined.components,
        "bundle_threshold": float(bundle.anomaly.threshold),
    }


def corpus_score(results: list[dict], windows: dict, profile, key: str, threshold, refractory: int) -> dict:
    scores = []
    for r in results:
        t = r["bundle_threshold"] if threshold == "bundle" else threshold
        flags = detect(r[key], t, refractory)
        scores.append(score_file(flags, r["windows"], profile))
    true_det = sum(s.true_detections for s in scores)
    all_det = true_det + sum(s.false_detections for s in scores)
    return {
        "score": normalized_score(scores),
        "window_recall": sum(s.detected_windows for s in scores) / max(sum(s.windows for s in scores), 1),
        "detection_precision": true_det / all_det if all_det else float("nan"),
        "detections": all_det,
    }


def swept(results: list[dict], windows: dict, profile, key: str, grid, refractory: int) -> dict:  # noqa: ANN001
    """The corpus score of ``key`` at the one threshold of ``grid`` that scores best (NAB's optimisation)."""
    scored = [(corpus_score(results, windows, profile, key, t, refractory), t) for t in grid]
    best, threshold = max(scored, key=lambda st: st[0]["score"])
    return {**best, "threshold": threshold}


def markdown(report: dict) -> str:
    """The NAB part of the variants section of docs/benchmarks.md, from a ``--json`` report."""
    a = report["args"]
    cmd = (
        f"python benchmarks/nab_benchmark.py --model {a['model']} --window {a['window']} "
        f"--epochs {a['epochs']} "
        f"--json benchmarks/results/nab_{a['model']}.json"
    )
    lines = [
        f"### Anomaly detection on NAB v1.1 ({report['files']} files, {report['seconds']:.0f} s)",
        "",
        f"Produced by `{cmd}`. One `{a['model']}` autoencoder per series, trained on sliding windows of "
        f"{a['window']} points from the probationary first 15% only; each point's score is the "
        "reconstruction "
        f"error of the window ending at it, turned into a causal likelihood (mean of the last {a['short']} "
        f"log-errors against all earlier ones); {a['refractory']} points of silence after each detection. "
        "NAB scoring re-implemented in `compressor/applications/nab_scoring.py` (normalized: perfect 100, "
        "null 0). *Swept*: one threshold per profile chosen on the whole corpus, as NAB's own optimisation "
        "step does for the published detectors. *Bundle threshold*: the raw error against the bundle's "
        "calibrated threshold (99th percentile of probationary validation errors), no label use at all.",
        "",
        "| profile | score (swept threshold) | window recall | detection precision | detections | "
        "score (bundle threshold) | Windowed Gaussian | KNN CAD |",
        "|---|---|---|---|---|---|---|---|",
    ]
    published = {
        "standard": (39.6, 58.0),
        "reward_low_FP_rate": (20.9, 43.4),
        "reward_low_FN_rate": (47.4, 64.8),
    }
    for name, r in report["profiles"].items():
        o, c = r["optimized"], r["bundle_threshold"]
        wg, knn = published.get(name, ("", ""))
        lines.append(
            f"| {name} | {o['score']:.1f} | {o['window_recall']:.2f} | {o['detection_precision']:.2f} | "
            f"{o['detections']} | {c['score']:.1f} | {wg} | {knn} |"
        )
    lines += [
        "",
        "Window recall: fraction of labelled windows with at least one detection; detection precision: "
        "fraction of detections (after probation) inside a window.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="vanilla")
    p.add_argument("--options", default="{}", help="model options as JSON")
    p.add_argument("--window", type=int, default=16, help="points per record")
    p.add_argument("--latent-dim", type=int, default=4)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--short", type=int, default=5, help="points averaged in the likelihood's recent mean")
    p.add_argument("--refractory", type=int, default=300, help="points of silence after a detection")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="only the first N files (for a quick look)")
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    p.add_argument("--scores", default=None, help="also write each file's scores to DIR/<name>.npz")
    args = p.parse_args(argv)

    labels = DATA_DIR / "nab" / "labels" / "combined_windows.json"
    if not labels.is_file():
        print(f"NAB not found under {DATA_DIR} (set LATENTWIRE_DATA_DIR)", file=sys.stderr)
        return 0
    windows = json.loads(labels.read_text())
    profiles = load_profiles(DATA_DIR / "nab" / "profiles.json")
    names = sorted(windows)[: args.limit]
    started = time.monotonic()
    results = []
    from compressor.progress import bar

    with bar(len(names), "NAB files", enabled=True, unit="file") as progress:
        for name in names:
            r = run_file(name, args)
            r["windows"] = window_indices(r["timestamps"], windows[name])
            results.append(r)
            if args.scores:
                out = Path(args.scores) / (name.replace("/", "__") + ".npz")
                out.parent.mkdir(parents=True, exist_ok=True)
                np.savez(out, **{k: r[k] for k in ("errors", "likelihood", "combined", "components")})
            progress.update(1)
    seconds = time.monotonic() - started

    grid = sorted({1 - 10.0**-k for k in np.arange(0.5, 8.01, 0.125)})
    z_grid = np.arange(1.0, 20.01, 0.25)  # the combined score is a z-score (its likelihood saturates)
    report: dict = {"args": vars(args), "files": len(results), "seconds": round(seconds, 1), "profiles": {}}
    for pname, profile in profiles.items():
        report["profiles"][pname] = {
            "optimized": swept(results, windows, profile, "likelihood", grid, args.refractory),
            "combined": swept(results, windows, profile, "combined", z_grid, args.refractory),
            "bundle_threshold": corpus_score(results, windows, profile, "errors", "bundle", args.refractory),
        }
    print(f"{len(results)} NAB files, model {args.model}, window {args.window}, {seconds:.0f} s")
    print(
        f"{'profile':22} {'reconstruction (swept)':>22} {'combined (swept)':>17} {'recall':>7} "
        f"{'precision':>9} {'bundle thr.':>12}"
    )
    for pname, r in report["profiles"].items():
        o, m, c = r["optimized"], r["combined"], r["bundle_threshold"]
        print(
            f"{pname:22} {o['score']:22.1f} {m['score']:17.1f} {m['window_recall']:7.2f} "
            f"{m['detection_precision']:9.2f} {c['score']:12.1f}"
        )
    print("published (standard):", ", ".join(f"{k} {v}" for k, v in PUBLISHED.items()))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
