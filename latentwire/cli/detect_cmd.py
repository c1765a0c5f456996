"""``latentwire detect``: anomaly scores (reconstruction error) and flags for every record."""

from __future__ import annotations

import argparse
import json
import math

from compressor.applications.likelihood import LEVEL
from latentwire.cli.data_options import add_data_options
from latentwire.cli.options import add_option

ORDER = 52


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "detect",
        help="score every record by reconstruction error and flag anomalies",
        description=(
            "Score each record of --data by its reconstruction error (mean squared error in normalized\n"
            "units) and flag it when the score exceeds the threshold calibrated at training time (the 99th\n"
            "percentile of the held-back records' scores), or --threshold. Records holding NaN/Inf are\n"
            "flagged with score null. Output, records in file order: a table `index score flag`, or with\n"
            '--json {"scores": [...], "threshold": t, "anomalies": [indices]}.\n'
            "Series (CSV, 1-D .npy) are also scored per point, to locate an anomaly in time: windows every\n"
            "--stride rows are reconstructed and each row gets its mean squared error over the windows\n"
            "covering it; the row scores become an anomaly likelihood (their recent mean against their\n"
            "history, Gaussian tail; no global threshold), and rows whose likelihood reaches --likelihood\n"
            "are flagged. The anomaly is located by a combined score, the sum of three z-scores per\n"
            "row: the reconstruction error and the distance of the row's windows to their nearest\n"
            "neighbour (among the training windows kept in the bundle and the series' own windows), each\n"
            "against its median and spread over the series, and flatness (how far the row's local spread\n"
            "falls below anything seen in training). The table then ends with the located anomaly and the\n"
            'flagged spans; --json adds "location": {"row", "record", "score", "likelihood", "component",\n'
            '"components"} (score: the combined z-score; component: the score that located it),\n'
            '"spans": [{"start", "end", "peak"}], "point_scores", "combined_scores" and "likelihood".\n'
            "Series also get the streaming detector's alarms (what a stream can compute, each row from\n"
            "rows up to it only): the reconstruction error of the window ending at each row as a likelihood\n"
            "against its own recent history, a value beyond the range seen so far counting as certain; an\n"
            "alarm where that reaches --likelihood, then quiet for 100 rows (one alarm per event);\n"
            '--json "alarms": [rows].'
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--model", required=True, help="model bundle directory")
    add_data_options(p)
    add_option(p, "--threshold", type=float, default=None, help="override the bundle's calibrated threshold")
    add_option(
        p,
        "--stride",
        type=int,
        default=None,
        help="series: rows between the windows scored per point (default: window / 16)",
    )
    add_option(
        p,
        "--likelihood",
        type=float,
        default=LEVEL,
        help="series: flag rows whose anomaly likelihood reaches this",
    )
    add_option(p, "--json", action="store_true", default=False, help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compressor.anomaly import threshold_of
    from compressor.applications.anomaly import score
    from latentwire.cli.array_io import bundle_and_records

    bundle, data = bundle_and_records(args)
    threshold = threshold_of(bundle) if args.threshold is None else args.threshold
    scores, flags = score(bundle, data.records, threshold)
    values = [_number(s) for s in scores]
    anomalies = [int(i) for i in flags.nonzero()[0]]
    report: dict = {"scores": values, "threshold": threshold, "anomalies": anomalies}
    if data.kind == "csv" or (data.kind == "npy" and data.window > 1):
        report.update(_located(bundle, data, args.stride, args.likelihood))
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"# threshold {threshold:.6g}; {len(anomalies)} of {len(values)} records flagged")
    print("index\tscore\tanomaly")
    for i, (s, f) in enumerate(zip(values, flags, strict=True)):
        print(f"{i}\t{'nan' if s is None else f'{s:.6g}'}\t{int(f)}")
    if "location" in report:
        loc = report["location"]
        print(
            f"# located anomaly: row {loc['row']} (record {loc['record']}), combined z-score "
            f"{loc['score']:.6g} from {loc['component']}, likelihood {loc['likelihood']:.6f}; "
            f"stride {report['stride']}"
        )
        for span in report["spans"]:
            print(f"# flagged rows {span['start']}..{span['end']} (peak {span['peak']})")
        print(f"# streaming alarms at rows: {' '.join(map(str, report['alarms'])) or 'none'}")
    return 0


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _located(bundle, data, stride: int | None, level: float) -> dict:  # noqa: ANN001
    """Per-point scores, likelihood, located anomaly and flagged spans of a series."""
    import numpy as np

    from compressor.applications.causal_detector import causal_scores_of, level_z
    from compressor.applications.combined import COMPONENTS, located
    from compressor.applications.likelihood import likelihood

    rows = data.records.reshape(-1, data.channels)
    if data.tail is not None and data.tail.size:
        rows = np.concatenate([rows, data.tail.reshape(-1, data.channels)])
    combined = located(bundle, rows, stride)
    scores = np.nan_to_num(combined.raw[:, 0], nan=0.0, posinf=np.inf)
    like = likelihood(scores)
    peak = combined.peak
    flagged = np.flatnonzero(like >= level)
    spans = []
    for part in np.split(flagged, np.flatnonzero(np.diff(flagged) > 1) + 1) if len(flagged) else []:
        top = int(part[np.argmax(scores[part])])
        spans.append({"start": int(part[0]), "end": int(part[-1]), "peak": top})
    return {
        "stride": combined.stride,
        "location": {
            "row": peak,
            "record": peak // bundle.window,
            "score": _number(combined.score[peak]),
            "likelihood": float(like[peak]),
            "component": combined.component_at(peak),
            "components": {
                name: _number(z) for name, z in zip(COMPONENTS, combined.components[peak], strict=True)
            },
        },
        "spans": spans,
        "point_scores": [_number(v) for v in combined.raw[:, 0]],
        "combined_scores": [_number(v) for v in combined.score],
        "likelihood": [float(v) for v in like],
        "alarms": [int(i) for i in np.flatnonzero(causal_scores_of(bundle, rows).alarms(level_z(level)))],
    }
