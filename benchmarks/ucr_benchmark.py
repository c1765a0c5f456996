"""UCR-style anomaly location: one anomaly per series after an anomaly-free training prefix, top-1 accuracy.

The series are real shared recordings with one anomaly injected each, the way the UCR anomaly archive
(Wu and Keogh 2021) made many of its own: a stretch replaced by a flat line (stuck sensor), by a time-
reversed copy of itself, by added noise, by a scaled copy, or a single spike. Univariate series: each
shared data set contributes some of its channels. Each series: ``--prefix`` anomaly-free training rows,
then ``--test`` rows holding the anomaly at a random place (seeded).

Detectors, each giving one location (the top-1):

* latentwire at the CLI's defaults: ``latentwire train --data prefix.csv --out bundle`` then
  ``latentwire detect --model bundle --data test.csv --json``; the location is ``location.row`` (the row
  of the highest combined score: reconstruction error, nearest-neighbour distance to the training windows
  kept in the bundle and to the series' own windows, and flatness; ``location.component`` names the one
  that located it).
* matrix-profile discord (``stumpy.stump``, subsequence length ``--m``): the test subsequence farthest
  from its nearest neighbour in the whole series; the location is its centre.

A location is correct when it falls within 100 rows of the anomaly (the archive's own tolerance).

    python benchmarks/ucr_benchmark.py --json benchmarks/results/ucr.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.cli_runner import run_cli  # noqa: E402

DATA_DIR = Path(os.environ.get("LATENTWIRE_DATA_DIR") or ROOT.parent / "shared" / "data")
KINDS = ("flat", "reverse", "noise", "scale", "spike")
TOLERANCE = 100


def _column(path: Path, name: str, missing: float | None = None) -> np.ndarray:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    values = np.array([float(r[name]) for r in rows], np.float64)
    return values[values != missing] if missing is not None else values


def sources() -> dict[str, np.ndarray]:
    d = DATA_DIR
    return {
        "ecg_MLII": _column(d / "ecg_mitdb100" / "mitdb100_adu.csv", "MLII")[:40_000],
        "ecg_V5": _column(d / "ecg_mitdb100" / "mitdb100_adu.csv", "V5")[100_000:140_000],
        "gait_ankle_vert": _column(d / "daphnet" / "S06R02E0.csv", "ankle_vert"),
        "gait_trunk_fwd": _column(d / "daphnet" / "S06R02E0.csv", "trunk_horiz_fwd"),
        "ett_HUFL": _column(d / "ett" / "ETTh1.csv", "HUFL"),
        "ett_OT": _column(d / "ett" / "ETTh1.csv", "OT"),
        "air_PT08.S1": _column(d / "air_quality_uci" / "AirQuality.csv", "PT08.S1(CO)", -200.0),
        "air_T": _column(d / "air_quality_uci" / "AirQuality.csv", "T", -200.0),
        "nab_art_daily_small_noise": _column(
            d / "nab" / "data/artificialNoAnomaly/art_daily_small_noise.csv", "value"
        ),
        "nab_occupancy_6005": _column(d / "nab" / "data/realTraffic/occupancy_6005.csv", "value"),
    }


def inject(series: np.ndarray, kind: str, rng: np.random.Generator, lo: int) -> tuple[np.ndarray, int, int]:
    """A copy of ``series`` with one anomaly of ``kind`` starting at or after row ``lo``: (series, start, end)."""
    out = series.copy()
    length = 1 if kind == "spike" else int(rng.integers(30, 90))
    start = int(rng.integers(lo, len(series) - length - 1))
    end = start + length - 1
    seg = out[start : end + 1]
    std = float(np.std(series[:lo])) or 1.0
    if kind == "flat":
        seg[:] = seg[0]
    elif kind == "reverse":
        seg[:] = seg[::-1].copy()
    elif kind == "noise":
        seg += rng.standard_normal(len(seg)) * 0.5 * std
    elif kind == "scale":
        seg[:] = seg.mean() + 2.0 * (seg - seg.mean())
    else:
        seg += 4.0 * std * rng.choice([-1.0, 1.0])
    return out, start, end


def discord(series: np.ndarray, m: int, lo: int) -> int:
    import stumpy

    profile = stumpy.stump(series.astype(np.float64), m)[:, 0].astype(np.float64)
    profile[:lo] = -np.inf
    profile[~np.isfinite(profile)] = -np.inf
    return int(np.argmax(profile)) + m // 2


def _save(path: Path, values: np.ndarray) -> str:
    np.savetxt(path, values, header="value", comments="", fmt="%.9g")
    return str(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prefix", type=int, default=1200, help="anomaly-free training rows per series")
    p.add_argument("--test", type=int, default=2500, help="rows after the prefix, holding the anomaly")
    p.add_argument("--m", type=int, default=128, help="matrix-profile subsequence length")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for i, (name, values) in enumerate(sources().items()):
            kind = KINDS[i % len(KINDS)]
            series = values[: args.prefix + args.test]
            series, start, end = inject(series, kind, rng, args.prefix + args.m)
            started = time.monotonic()
            bundle = scratch / f"bundle_{i}"
            run_cli(
                "train",
                "--data",
                _save(scratch / f"prefix_{i}.csv", series[: args.prefix]),
                "--out",
                str(bundle),
            )
            report = run_cli(
                "detect",
                "--model",
                str(bundle),
                "--data",
                _save(scratch / f"test_{i}.csv", series[args.prefix :]),
            )
            ours = args.prefix + int(report["location"]["row"])
            seconds = time.monotonic() - started
            mp = discord(series, args.m, args.prefix)
            row = {
                "series": name,
                "kind": kind,
                "anomaly": [start, end],
                "latentwire": ours,
                "latentwire_correct": bool(start - TOLERANCE <= ours <= end + TOLERANCE),
                "latentwire_component": report["location"].get("component"),
                "discord": mp,
                "discord_correct": bool(start - TOLERANCE <= mp <= end + TOLERANCE),
                "seconds": seconds,
            }
            results.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    ours = sum(r["latentwire_correct"] for r in results)
    mp = sum(r["discord_correct"] for r in results)
    summary = {
        "series": len(results),
        "latentwire_top1": ours / len(results),
        "discord_top1": mp / len(results),
    }
    if args.json:
        Path(args.json).write_text(
            json.dumps({"args": vars(args), "summary": summary, "results": results}, indent=2)
        )
    print("| series | anomaly | rows | latentwire | located by | discord (m=%d) |" % args.m)
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['series']} | {r['kind']} | {r['anomaly'][0]}..{r['anomaly'][1]} | {r['latentwire']} "
            f"{'ok' if r['latentwire_correct'] else 'miss'} | {r['latentwire_component']} | {r['discord']} "
            f"{'ok' if r['discord_correct'] else 'miss'} |"
        )
    print(f"top-1: latentwire {ours}/{len(results)}, matrix-profile discord {mp}/{len(results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
