"""Denoising at the CLI's defaults on every shared data set, next to Savitzky-Golay and wavelet shrinkage.

For each data set, a training part and a later, disjoint test part are written to a scratch folder (the
test part is data the model never saw), then exactly what a user would run:

    latentwire train --data train.csv --model denoising --out bundle
    latentwire denoise --model bundle --data test.csv --noise-std S --json

for each noise level ``S`` (Gaussian noise of ``S`` x each channel's training std, which the denoiser is
then told: its blend is chosen by SURE), and again with ``--estimated-noise`` (the path for data of unknown
noise). The table gives the PSNR gain over the noisy test records of the denoised records and of the
classical smoothers: Savitzky-Golay and wavelet shrinkage as standard (BayesShrink estimating the noise),
and wavelet shrinkage given the known noise std.

    python benchmarks/denoise_benchmark.py --json benchmarks/results/denoise.json
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.cli_runner import run_cli  # noqa: E402

DATA_DIR = Path(os.environ.get("LATENTWIRE_DATA_DIR") or ROOT.parent / "shared" / "data")
LEVELS = (0.1, 0.3, 0.5, 1.0)


def _write_csv(path: Path, header: list[str], rows: np.ndarray) -> str:
    np.savetxt(path, rows, delimiter=",", header=",".join(header), comments="", fmt="%.7g")
    return str(path)


def _numeric_csv(path: Path, skip: int, missing: float | None = None) -> tuple[list[str], np.ndarray]:
    """Numeric columns (from ``skip`` on) of a CSV; rows holding the ``missing`` code are dropped."""
    with path.open() as fh:
        rows = list(csv.reader(fh))
    header = rows[0][skip:]
    table = np.array([[float(v) for v in r[skip : skip + len(header)]] for r in rows[1:]], np.float32)
    if missing is not None:
        table = table[~(table == missing).any(axis=1)]
    return header, table


def datasets(scratch: Path) -> dict[str, tuple[str, str]]:
    """name -> (training file, test file)."""
    out = {}
    header, ecg = _numeric_csv(DATA_DIR / "ecg_mitdb100" / "mitdb100_adu.csv", 0)
    out["MIT-BIH 100 (2 leads, W=128)"] = (
        _write_csv(scratch / "ecg_train.csv", header, ecg[:60_000]),
        _write_csv(scratch / "ecg_test.csv", header, ecg[300_000:320_000]),
    )
    with (DATA_DIR / "ecg_mitdb100" / "mitdb100_annotations.csv").open() as fh:
        beats_at = [int(r[0]) for r in list(csv.reader(fh))[1:] if r[1] == "N"]
    beats = np.stack([ecg[a - 50 : a + 90, 0] for a in beats_at if 50 <= a and a + 90 <= len(ecg)])
    np.save(scratch / "beats_train.npy", beats[:250])
    np.save(scratch / "beats_test.npy", beats[1000:1500])
    out["MIT-BIH 100 heartbeats (250 x 140)"] = (
        str(scratch / "beats_train.npy"),
        str(scratch / "beats_test.npy"),
    )
    header, air = _numeric_csv(DATA_DIR / "air_quality_uci" / "AirQuality.csv", 2, missing=-200.0)
    out["Air quality (13 ch, W=128)"] = (
        _write_csv(scratch / "air_train.csv", header, air[:2500]),
        _write_csv(scratch / "air_test.csv", header, air[-2000:]),
    )
    header, gait = _numeric_csv(DATA_DIR / "daphnet" / "S06R02E0.csv", 1)
    header, gait = header[:9], gait[:, :9]
    out["Daphnet (9 ch, W=128)"] = (
        _write_csv(scratch / "gait_train.csv", header, gait[:4000]),
        _write_csv(scratch / "gait_test.csv", header, gait[4500:]),
    )
    header, ett = _numeric_csv(DATA_DIR / "ett" / "ETTh1.csv", 1)
    out["ETTh1 (7 ch, W=128)"] = (
        _write_csv(scratch / "ett_train.csv", header, ett[:6912]),
        _write_csv(scratch / "ett_test.csv", header, ett[10_000:14_000]),
    )
    for name in (
        "realKnownCause/machine_temperature_system_failure",
        "realAWSCloudwatch/ec2_cpu_utilization_825cc2",
    ):
        header, series = _numeric_csv(DATA_DIR / "nab" / "data" / f"{name}.csv", 1)
        half = len(series) // 2
        stem = name.split("/")[1]
        out[f"NAB {stem} (W=128)"] = (
            _write_csv(scratch / f"{stem}_train.csv", header, series[:half]),
            _write_csv(scratch / f"{stem}_test.csv", header, series[half:]),
        )
    with gzip.open(DATA_DIR / "mnist_t10k" / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read()[16:], np.uint8).reshape(-1, 784).astype(np.float32)
    np.save(scratch / "mnist_train.npy", images[:2000])
    np.save(scratch / "mnist_test.npy", images[5000:6000])
    out["MNIST (2,000 x 784)"] = (str(scratch / "mnist_train.npy"), str(scratch / "mnist_test.npy"))
    return out


def _trained(name: str, train_file: str, scratch: Path) -> tuple[Path, dict, float]:
    """The bundle trained at defaults on ``train_file``, its summary and training seconds; one already in
    ``scratch`` (from an earlier run with the same --workdir) is reused."""
    stem = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    bundle, saved = scratch / f"bundle_{stem}", scratch / f"train_{stem}.json"
    if bundle.is_dir() and saved.is_file():
        kept = json.loads(saved.read_text())
        return bundle, kept["train"], kept["train_seconds"]
    started = time.monotonic()
    summary = run_cli("train", "--data", train_file, "--model", "denoising", "--out", str(bundle))
    seconds = time.monotonic() - started
    summary.pop("bundle", None)  # a scratch path, meaningless in the stored results
    saved.write_text(json.dumps({"train": summary, "train_seconds": seconds}))
    return bundle, summary, seconds


def run_one(name: str, train_file: str, test_file: str, scratch: Path) -> dict:
    bundle, summary, seconds = _trained(name, train_file, scratch)
    levels = []
    for s in LEVELS:
        args = ("denoise", "--model", str(bundle), "--data", test_file, "--noise-std", str(s))
        level = run_cli(*args)  # the noise std added is known to the denoiser: the SURE-chosen blend
        estimated = run_cli(*args, "--estimated-noise")  # as for data of unknown noise
        level["estimated_noise"] = {k: estimated[k] for k in ("psnr_denoised_db", "gain_db", "method")}
        levels.append(level)
    return {"dataset": name, "train_seconds": seconds, "train": summary, "levels": levels}


def table(results: list[dict]) -> str:
    lines = [
        "| data set | train s | noise | PSNR noisy dB | denoised gain dB (noise std known, SURE) | denoised gain dB "
        "(noise estimated) | Savitzky-Golay gain dB | wavelet gain dB | wavelet given the std, gain dB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for lv in r["levels"]:
            lines.append(
                f"| {r['dataset']} | {r['train_seconds']:.0f} | {lv['noise_std']} | {lv['psnr_noisy_db']:.2f} | "
                f"**{lv['gain_db']:+.2f}** | {lv['estimated_noise']['gain_db']:+.2f} | "
                f"{lv['gain_savgol_db']:+.2f} | {lv['gain_wavelet_db']:+.2f} | "
                f"{lv['gain_wavelet_known_sigma_db']:+.2f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default=None, help="comma-separated substrings of data set names to run")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument(
        "--workdir",
        default=None,
        help="keep the data files and trained bundles here (default: a temporary folder); bundles already "
        "there are reused instead of retrained",
    )
    args = p.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(args.workdir or tmp)
        scratch.mkdir(parents=True, exist_ok=True)
        for name, (train_file, test_file) in datasets(scratch).items():
            if args.only and not any(s.lower() in name.lower() for s in args.only.split(",")):
                continue
            results.append(run_one(name, train_file, test_file, scratch))
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=2))
            print(table(results[-1:]).splitlines()[-len(LEVELS) :], file=sys.stderr, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
