"""Score the streaming anomaly detector on the Numenta Anomaly Benchmark (NAB v1.1).

For every one of the 58 NAB series, streaming and causal:

1. a record is a sliding window of the last ``--window`` points; a fresh autoencoder (``--model``) is
   trained with :func:`compressor.training.train` on the windows of the probationary first 15% only (the
   part NAB leaves unscored), which also calibrates the bundle's anomaly threshold and keeps its reference
   windows;
2. each point gets the score of :func:`compressor.applications.causal_detector.causal_scores_of` (the
   product's streaming detector): the reconstruction error of the window ending at it as a causal
   likelihood z-score against its own recent history (``--short`` recent errors against the last
   ``--history``, floored at a fraction of the calibrated threshold), raised to a fixed high z on a value
   beyond the range seen so far; it uses only data up to the point;
3. a detection is a score at or above the threshold, after which the detector stays quiet for
   ``--refractory`` points (one alarm per event; :func:`compressor.applications.causal_detector.alarms`).

Scored with :mod:`compressor.applications.nab_scoring` under the three profiles of ``profiles.json``. As in
NAB, one threshold per profile is chosen for the whole corpus (NAB's threshold optimisation); the report
also gives the score at the detector's own default level (no label use at all), the two parts of the score
alone, and the earlier detector (the reconstruction error's likelihood against all earlier errors, no
floor, no novelty). ``--combined`` adds :func:`compressor.applications.combined.causal` (reconstruction,
nearest-neighbour distance and flatness z-scores summed; slow: the causal neighbour search is quadratic).

    python benchmarks/nab_benchmark.py --epochs 20 --json nab.json
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

from compressor.applications.causal_detector import HISTORY, QUIET, SHORT, alarms, level_z  # noqa: E402
from compressor.applications.nab_scoring import (  # noqa: E402
    load_profiles,
    normalized_score,
    point_weights,
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


def run_file(name: str, args: argparse.Namespace) -> dict:
    from compressor.applications.causal_detector import causal_scores_of
    from compressor.training import TrainingConfig, train

    timestamps, values = read_series(DATA_DIR / "nab" / "data" / name)
    n = len(values)
    w = args.window
    probation = int(probationary_length(n))
    config = TrainingConfig(
        model=args.model,
        latent_dim=args.latent_dim,
        epochs=args.epochs,
        batch_size=32,
        patience=5,
        seed=args.seed,
        options=json.loads(args.options),
    )
    bundle, _ = train(sliding(values[:probation], w), window=w, channels=1, config=config, progress=False)
    scores = causal_scores_of(bundle, values[:, None], short=args.short, history=args.history)
    errors = np.nan_to_num(scores.errors, nan=float(scores.errors[w - 1]))
    novel = np.where(scores.novelty > 0, 1.0, 0.0)
    out = {
        "name": name,
        "timestamps": timestamps,
        "errors": errors,
        "score": scores.score,
        "reconstruction": scores.reconstruction,
        "novelty": novel,
        "earlier": likelihood(errors, w - 1, 5),
    }
    if args.combined:
        from compressor.applications.combined import causal

        out["combined"] = causal(bundle, values[:, None], short=args.short).score
    return out


def corpus_score(results: list[dict], windows: dict, profile, key: str, threshold, refractory: int) -> dict:
    scores = []
    for r in results:
        flags = alarms(r[key], threshold, refractory)
        cached = r.setdefault("weights", {})
        if profile.name not in cached:
            cached[profile.name] = point_weights(len(flags), r["windows"], profile)
        scores.append(score_file(flags, r["windows"], profile, weights=cached[profile.name]))
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


#: the columns of the report: result key -> what it is
COLUMNS = {
    "score": "detector",
    "reconstruction": "reconstruction likelihood alone",
    "novelty": "range novelty alone",
    "earlier": "earlier detector",
}


def markdown(report: dict) -> str:
    """The NAB section of docs/benchmarks.md, from a ``--json`` report."""
    a = report["args"]
    cmd = f"python benchmarks/nab_benchmark.py --epochs {a['epochs']} --json nab.json"
    lines = [
        f"### Anomaly detection on NAB v1.1 ({report['files']} files, {report['seconds']:.0f} s)",
        "",
        f"Produced by `{cmd}` (the defaults: `{a['model']}`, W = {a['window']}, latent {a['latent_dim']}, "
        f"`--short {a['short']} --history {a['history']} --refractory {a['refractory']}`). One autoencoder "
        "per series, trained on the probationary first 15% only; each point's score is "
        "`causal_detector.causal_scores_of` (see `benchmarks/nab_benchmark.py`), one setting for all "
        "files, the threshold swept once per profile over the corpus as NAB's own optimisation does. "
        "*Default level*: the detector at its own alarm level (z 3.72), no label use at all.",
        "",
        "| profile | " + " | ".join(COLUMNS.values()) + " | detector at default level | recall | precision "
        "| KNN CAD | Numenta HTM |",
        "|---|" + "---|" * (len(COLUMNS) + 5),
    ]
    published = {
        "standard": (58.0, 70.5),
        "reward_low_FP_rate": (43.4, 62.6),
        "reward_low_FN_rate": (64.8, 75.2),
    }
    for name, r in report["profiles"].items():
        knn, htm = published.get(name, ("", ""))
        cells = [f"{r[k]['score']:.1f}" for k in COLUMNS]
        o = r["score"]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {r['default_level']['score']:.1f} | "
            f"{o['window_recall']:.2f} | {o['detection_precision']:.2f} | {knn} | {htm} |"
        )
    lines += [
        "",
        "Recall: fraction of labelled windows with at least one detection; precision: fraction of "
        "detections (after probation) inside a window; both for the detector at its swept threshold.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="vanilla")
    p.add_argument("--options", default="{}", help="model options as JSON")
    p.add_argument("--window", type=int, default=16, help="points per record")
    p.add_argument("--latent-dim", type=int, default=4)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--short", type=int, default=SHORT, help="recent errors averaged in the likelihood")
    p.add_argument(
        "--history", type=int, default=HISTORY, help="earlier errors the recent ones are judged by"
    )
    p.add_argument("--refractory", type=int, default=QUIET, help="points of silence after a detection")
    p.add_argument("--combined", action="store_true", help="also score combined.causal (slow)")
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

    keys = [*COLUMNS, *(["combined"] if args.combined else [])]
    with bar(len(names), "NAB files", enabled=True, unit="file") as progress:
        for name in names:
            r = run_file(name, args)
            r["windows"] = window_indices(r["timestamps"], windows[name])
            results.append(r)
            if args.scores:
                out = Path(args.scores) / (name.replace("/", "__") + ".npz")
                out.parent.mkdir(parents=True, exist_ok=True)
                np.savez(out, **{k: r[k] for k in ("errors", *keys)})
            progress.update(1)
    seconds = time.monotonic() - started

    grids = {
        "earlier": sorted({1 - 10.0**-k for k in np.arange(0.5, 8.01, 0.125)}),  # a likelihood
        "novelty": [0.5],  # 0 or 1
    }
    z_grid = np.arange(0.5, 20.01, 0.25)
    report: dict = {"args": vars(args), "files": len(results), "seconds": round(seconds, 1), "profiles": {}}
    for pname, profile in profiles.items():
        row = {k: swept(results, windows, profile, k, grids.get(k, z_grid), args.refractory) for k in keys}
        row["default_level"] = corpus_score(results, windows, profile, "score", level_z(), args.refractory)
        report["profiles"][pname] = row
    print(f"{len(results)} NAB files, model {args.model}, window {args.window}, {seconds:.0f} s")
    print(f"{'profile':20}" + "".join(f"{k:>16}" for k in keys) + f"{'default level':>15}")
    for pname, r in report["profiles"].items():
        print(
            f"{pname:20}"
            + "".join(f"{r[k]['score']:16.1f}" for k in keys)
            + f"{r['default_level']['score']:15.1f}"
        )
    print("published (standard):", ", ".join(f"{k} {v}" for k, v in PUBLISHED.items()))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
