"""``latentwire detect``: anomaly scores (reconstruction error) and flags for every record."""

from __future__ import annotations

import argparse
import json
import math

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
            '--json {"scores": [...], "threshold": t, "anomalies": [indices]}.'
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--model", required=True, help="model bundle directory")
    add_data_options(p)
    add_option(p, "--threshold", type=float, default=None, help="override the bundle's calibrated threshold")
    add_option(p, "--json", action="store_true", default=False, help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compressor.anomaly import threshold_of
    from compressor.applications.anomaly import score
    from latentwire.cli.array_io import bundle_and_records

    bundle, data = bundle_and_records(args)
    threshold = threshold_of(bundle) if args.threshold is None else args.threshold
    scores, flags = score(bundle, data.records, threshold)
    values = [float(s) if math.isfinite(s) else None for s in scores]
    anomalies = [int(i) for i in flags.nonzero()[0]]
    if args.json:
        print(json.dumps({"scores": values, "threshold": threshold, "anomalies": anomalies}))
        return 0
    print(f"# threshold {threshold:.6g}; {len(anomalies)} of {len(values)} records flagged")
    print("index\tscore\tanomaly")
    for i, (s, f) in enumerate(zip(values, flags, strict=True)):
        print(f"{i}\t{'nan' if s is None else f'{s:.6g}'}\t{int(f)}")
    return 0
