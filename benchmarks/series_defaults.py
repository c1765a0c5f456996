"""Series the codec benchmark does not use, through the command line at its defaults: what a user sees on a
stream of their own.

Per NAB file: ``latentwire train`` on the first half of its rows (every option at its default), then
``latentwire evaluate`` on the second half at ``--error-bound 0.01 --relative`` and at ``--lossless`` (where
the data has a quantum). Prints, per file, the records evaluated, the learned model the bundle kept (its
version and, for version 4, the period of its seasonal term), and latentwire's ratio against the best
baseline of each evaluation.

    python -m benchmarks.series_defaults [--data ../shared/data] [--files a.csv,b.csv]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

from benchmarks.cli_runner import run_cli

__all__ = ["FILES", "main", "measure"]

#: NAB series no codec benchmark here trains or evaluates on (``--nab-files 3`` takes the first three
#: ``realAWSCloudwatch`` files): traffic sensors, machine metrics, tweet counts, ad prices, a taxi count
FILES = (
    "realTraffic/speed_7578.csv",
    "realKnownCause/ambient_temperature_system_failure.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv",
    "realTraffic/occupancy_6005.csv",
    "realKnownCause/nyc_taxi.csv",
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv",
    "realTraffic/speed_t4013.csv",
    "realTraffic/TravelTime_387.csv",
    "realTweets/Twitter_volume_GOOG.csv",
    "realAWSCloudwatch/elb_request_count_8c0756.csv",
    "realKnownCause/machine_temperature_system_failure.csv",
    "realAdExchange/exchange-2_cpc_results.csv",
)
_OURS = ("latentwire", "latentwire-classical")


def _halves(path: Path, folder: Path) -> tuple[Path, Path]:
    """The file's first and second half of data rows, each under its header, as two CSV files."""
    header, *rows = path.read_text().splitlines()
    half = len(rows) // 2
    out = []
    for name, part in (("train", rows[:half]), ("test", rows[half:])):
        target = folder / f"{path.stem}.{name}.csv"
        target.write_text("\n".join([header, *part]) + "\n")
        out.append(target)
    return out[0], out[1]


def _versus_best(report: dict) -> dict:
    codecs = report["codecs"]
    base = {k: v["ratio"] for k, v in codecs.items() if k not in _OURS and v.get("ratio")}
    best = max(base, key=base.get)
    ours = codecs["latentwire"]["ratio"]
    return {"ratio": ours, "best": best, "best_ratio": base[best], "versus_best": ours / base[best]}


def _learned(model: Path) -> str:
    """What learned model the bundle at ``model`` kept: "v3", "v4 (period 24)" or "none"."""
    manifest = json.loads((model / "manifest.json").read_text())
    spec = (manifest.get("codec", {}).get("learned") or {}).get("model")
    if not spec:
        return "none"
    version = spec.get("version", 1)
    return f"v{version}" + (f" (period {spec['period']})" if version >= 4 else "")


def measure(path: Path, folder: Path) -> dict:
    """Train on the first half of ``path``, evaluate the second half at rel 1e-2 and lossless."""
    train, test = _halves(path, folder)
    model = folder / f"{path.stem}.model"
    run_cli("train", "--data", str(train), "--out", str(model))
    out = {"series": path.stem, "learned": _learned(model)}
    bounded = run_cli(
        "evaluate", "--model", str(model), "--data", str(test), "--error-bound", "0.01", "--relative"
    )
    out["records"] = bounded["records"]
    out["rel 1e-2"] = _versus_best(bounded)
    try:
        out["lossless"] = _versus_best(
            run_cli("evaluate", "--model", str(model), "--data", str(test), "--lossless")
        )
    except (RuntimeError, SystemExit):  # no quantum in the data: evaluate refuses --lossless
        out["lossless"] = None
    return out


def _cell(figures: dict | None) -> str:
    if figures is None:
        return "no quantum"
    return f"{figures['ratio']:.3g} / {figures['best']} {figures['best_ratio']:.3g} = **{figures['versus_best']:.3f}x**"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("LATENTWIRE_DATA_DIR", "../shared/data"))
    parser.add_argument("--files", default=",".join(FILES), help="NAB files under nab/data (comma-separated)")
    args = parser.parse_args(argv)
    nab = Path(args.data) / "nab" / "data"
    if not nab.is_dir():
        print(f"skipped: {nab} is missing (the shared NAB data set)", file=sys.stderr)
        return 0
    print(
        "| series | test records | learned model | rel 1e-2: latentwire / best | lossless: latentwire / best |"
    )
    print("|---|---|---|---|---|")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.files.split(","):
            r = measure(nab / name, Path(tmp))
            results.append(r)
            print(
                f"| {r['series']} | {r['records']} | {r['learned']} | {_cell(r['rel 1e-2'])} | {_cell(r['lossless'])} |",
                flush=True,
            )
    print()
    for mode in ("rel 1e-2", "lossless"):
        print(_summary(mode, [r[mode]["versus_best"] for r in results if r[mode] is not None]))
    return 0


def _summary(mode: str, ratios: list[float]) -> str:
    """One line: the geometric mean of latentwire / best over ``ratios`` and how many are below 1."""
    if not ratios:
        return f"- {mode}: no series"
    mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    below = sum(r < 1.0 for r in ratios)
    return (
        f"- {mode}: geometric mean of latentwire / best {mean:.3f}x over {len(ratios)} series, "
        f"{below} below 1.0x, lowest {min(ratios):.3f}x"
    )


if __name__ == "__main__":
    raise SystemExit(main())
