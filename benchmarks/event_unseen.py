"""Two event topics that :mod:`benchmarks.event_topics` does not build, shaped as services write them, to
check the event coding on data it was not tuned on: single events never above raw + Kafka zstd, windows
far below.

* **cloud**: EC2 metrics of 4 instances (NAB ``realAWSCloudwatch``, CPU utilization with 3 decimals that
  drop trailing zeros, network-in bytes as floats, null when the series has no value), an ISO timestamp
  string, a nested ``tags`` object, a boolean ``healthy``, a per-instance integer ``seq``, every 5 minutes,
  keyed by instance.
* **ecg**: MIT-BIH record 100 (2 leads, 360 Hz) as one event per 10 samples from two monitors: the leads
  as a nested object of arrays, the beat annotations of those samples (a string, or null), the seconds
  since the recording started (a float whose decimals vary), an integer sample counter, a boolean.

    python -m benchmarks.event_unseen [--data ../shared/data] [--bootstrap-servers HOST:PORT]

Prints, per topic and bound (1 % of each reading's range, and lossless), the payload-level figures of
:func:`benchmarks.event_topics.measure` and, with a broker, the compress bridge's wire bytes
(:func:`benchmarks.event_broker.measure_on_broker`: pass-through fallback on, so single events never cost
more than raw + zstd).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import time
from pathlib import Path

from compressor.events import Event

__all__ = ["cloud_topic", "ecg_topic", "main"]

_INSTANCES = ("24ae8d", "53ea38", "5f5533", "77c1ca")


def _rows(path: Path) -> list[list[str]]:
    """The data rows of a CSV file (its header and empty lines left out), as strings."""
    with path.open() as f:
        return [row for row in list(csv.reader(f))[1:] if row]


def cloud_topic(data: Path, events: int, base_ms: int) -> list[Event]:
    aws = data / "nab/data/realAWSCloudwatch"
    cpu = {i: _rows(aws / f"ec2_cpu_utilization_{i}.csv") for i in _INSTANCES}
    net = _rows(aws / "ec2_network_in_257a54.csv")
    out = []
    for n in range(events // len(_INSTANCES)):
        for d, inst in enumerate(_INSTANCES):
            when, value = cpu[inst][n]
            stamp = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc)
            net_in = net[(n + 97 * d) % len(net)][1]
            body = {
                "instance": f"i-{inst}",
                "time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "cpu": float(value),
                "network_in": None if (n + d) % 53 == 0 else float(net_in),
                "healthy": float(value) < 90,
                "tags": {"asg": "web" if d < 2 else "batch", "az": f"us-east-1{'ab'[d % 2]}"},
                "seq": n,
            }
            ts = base_ms + n * 300_000 + d * 1_250 + (n * 7919 + d * 131) % 900
            out.append(Event(json.dumps(body).encode(), f"i-{inst}".encode(), ts, ()))
    return out


def ecg_topic(data: Path, events: int, base_ms: int, per_event: int = 10) -> list[Event]:
    ecg = data / "ecg_mitdb100"
    rows = _rows(ecg / "mitdb100_adu.csv")
    beats = {int(r[0]): r[1] for r in _rows(ecg / "mitdb100_annotations.csv")}
    monitors = 2
    out = []
    for n in range(events // monitors):
        for m in range(monitors):
            first = m * 300_000 + n * per_event
            leads = rows[first : first + per_event]
            marks = [beats[s] for s in range(first, first + per_event) if s in beats]
            body = {
                "monitor": f"bed-{m + 1}",
                "sample": first,
                "t": round(first / 360, 4),
                "leads": {"MLII": [int(r[0]) for r in leads], "V5": [int(r[1]) for r in leads]},
                "beat": marks[0] if marks else None,
                "paced": False,
            }
            ts = base_ms + int(n * per_event * 1000 / 360) + 3 + (n * 31 + m) % 12
            out.append(Event(json.dumps(body).encode(), f"bed-{m + 1}".encode(), ts, ()))
    return out


def main(argv: list[str] | None = None) -> int:
    from benchmarks.event_topics import measure

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--events", type=int, default=1200)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--bootstrap-servers", default=None)
    args = parser.parse_args(argv)
    base = int(time.time() * 1000) - 3_600_000 * 24 * 6
    topics = {
        "cloud": cloud_topic(args.data, args.events, base),
        "ecg": ecg_topic(args.data, args.events, int(time.time() * 1000) - 600_000),
    }
    print(
        "| topic | bound | raw JSON | raw + zstd | single | single/zstd | window | window/zstd | "
        "broker: raw + zstd | single bridge | single/zstd | window bridge | window/zstd |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, events in topics.items():
        for bound in (0.01, 0.0):
            r = measure(events, args.window, bound)
            row = (
                f"| {name} | {bound or 'lossless'} | {r['raw_json']:.1f} | {r['raw_zstd']:.1f} | "
                f"{r['single']:.1f} | {r['single_vs_zstd']:.2f}x | {r['window']:.2f} | {r['window_vs_zstd']:.3f}x |"
            )
            if args.bootstrap_servers:
                from benchmarks.event_broker import measure_on_broker

                b = measure_on_broker(args.bootstrap_servers, events, args.window, bound, 1000)
                row += (
                    f" {b['raw_zstd']:.1f} | {b['single_steady']:.1f} | {b['single_vs_zstd']:.2f}x | "
                    f"{b['window_steady']:.2f} | {b['window_vs_zstd']:.3f}x |"
                )
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
