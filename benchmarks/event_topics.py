"""Event topics built from real data as a user would build them, and the wire bytes each way of sending
them costs: raw JSON, raw + Kafka zstd, the single-event coding and the windowed coding.

A topic is a stream of JSON events (``json.dumps`` of a dict, as Python services write them) from a few
devices, keyed by device id, with a millisecond ``ts`` and 1, 4 or 16 readings per event (named fields,
or an array ``values`` of consecutive samples), with or without string fields (``device_id``, ``site``,
``firmware``, ``unit``, ``status``). The schema is learned on the first 30 % of the events; the rest is
measured.

Wire bytes are Kafka record batches as the producer sends them (kafka-python's record batch builder, v2
format: per-record framing, keys, headers, timestamps, batch headers; with ``zstd`` batch compression
when named), 500 records per batch. The windowed bridge sends one record per window of N events of one
key; its added latency is the time a window waits for its N events (at the topic's event rate), capped
by ``--max-delay``.

    python -m benchmarks.event_topics [--data ../shared/data] [--window 128] [--bound 0.01] [--markdown]

With ``--bootstrap-servers HOST:PORT`` the same topics go through a real broker instead
(:mod:`benchmarks.event_broker`): the bytes producers send, raw, raw + zstd, and the compress bridge in
single-event and windowed mode. With ``--latency RATES`` as well (events per second, e.g. ``100,1000``)
the added latency of a window is measured end to end on live events (:mod:`benchmarks.event_latency`);
with ``--live RATES`` the bytes per event of the single-event bridge at its defaults on events sent live
(:mod:`benchmarks.event_live`), at ``--bound`` and losslessly, for each of ``--commit-intervals``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from compressor.envelope import FRAMING_VERSION, Envelope, Kind, pack
from compressor.events import Event, EventCoder, EventSchema
from streaming.record_batches import batch_bytes

__all__ = ["build_topic", "kafka_batch_bytes", "main", "measure"]

BATCH = 500
DEVICES = 4
SITES = ("plant-north", "plant-south")
FIRMWARE = ("2.4.1", "2.5.0")


@dataclass(frozen=True)
class Series:
    name: str
    columns: list[str]
    values: np.ndarray  # (rows, columns) float64, as the file writes them
    texts: list[list[str]]  # the values as the file spells them
    period_ms: int
    unit: str


def _read(path: Path, skip: int, columns: list[str] | None, period_ms: int, unit: str, name: str) -> Series:
    with path.open() as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    idx = [head.index(c) for c in columns] if columns else list(range(skip, len(head)))
    texts = [[r[i] for i in idx] for r in body if len(r) == len(head)]
    values = np.asarray([[float(t) for t in r] for r in texts])
    return Series(name, [head[i] for i in idx], values, texts, period_ms, unit)


def load_series(data: Path) -> list[Series]:
    return [
        _read(
            data / "nab/data/realKnownCause/machine_temperature_system_failure.csv",
            1,
            None,
            300_000,
            "degF",
            "NAB machine temperature",
        ),
        _read(
            data / "air_quality_uci/AirQuality.csv",
            2,
            ["PT08.S1(CO)", "C6H6(GT)", "T", "RH"],
            3_600_000,
            "mixed",
            "air quality",
        ),
        _read(data / "ett/ETTh1.csv", 1, None, 3_600_000, "MW", "ETT"),
        _read(
            data / "daphnet/S06R02E0.csv",
            1,
            ["ankle_horiz_fwd", "ankle_vert", "trunk_vert", "leg_vert"],
            15,
            "mg",
            "gait",
        ),
    ]


def build_topic(
    series: Series, readings: int, strings: bool, events: int = 2000, base_ms: int = 1_700_000_000_000
) -> list[Event]:
    """Events of ``DEVICES`` devices interleaved in time from ``base_ms`` on; each device reads its own
    stretch of the data."""
    rng = np.random.default_rng(7)
    per_device = events // DEVICES
    multi = readings <= len(series.columns) and readings > 1
    need = per_device * (1 if multi else readings)
    stride = max(1, (len(series.texts) - need) // DEVICES)
    out = []
    for i in range(per_device):
        for d in range(DEVICES):
            start = d * stride
            period = series.period_ms * (1 if multi else readings)
            ts = (
                base_ms + i * period + int(rng.integers(0, min(1000, period // 4 + 1)))
            )  # device clock jitter
            event: dict = {}
            if strings:
                event["device_id"] = f"dev-{d:03d}"
                event["site"] = SITES[d % 2]
                event["firmware"] = FIRMWARE[d // 2]
            event["ts"] = ts
            if readings == 1:
                event["value"] = float(series.texts[(start + i) % len(series.texts)][0])
            elif multi:
                row = series.texts[(start + i) % len(series.texts)]
                for c in range(readings):
                    event[_name(series.columns[c])] = float(row[c])
            else:
                first = start + i * readings
                event["values"] = [
                    float(series.texts[(first + k) % len(series.texts)][0]) for k in range(readings)
                ]
            if strings:
                event["unit"] = series.unit
                event["status"] = "ok" if rng.random() > 0.03 else "check"
            out.append(
                Event(json.dumps(event).encode(), f"dev-{d:03d}".encode(), ts + int(rng.integers(1, 40)), ())
            )
    return out


def _name(column: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in column.lower()).strip("_")


def kafka_batch_bytes(
    records: list[tuple[bytes | None, bytes | None, int, list]], compression: str | None
) -> int:
    """Bytes of v2 record batches of ``BATCH`` records (key, value, timestamp ms, headers) as a producer
    sends them."""
    return batch_bytes(records, compression, BATCH)


def _windows(events: list[Event], n: int) -> list[list[Event]]:
    """Consecutive events of each key, cut every ``n`` (the last window of a key may be shorter)."""
    by_key: dict[bytes | None, list[Event]] = defaultdict(list)
    out = []
    for ev in events:
        group = by_key[ev.key]
        group.append(ev)
        if len(group) == n:
            out.append(by_key.pop(ev.key))
    out.extend(g for g in by_key.values() if g)
    return out


def measure(events: list[Event], window: int, bound: float, train_fraction: float = 0.3) -> dict:
    cut = int(len(events) * train_fraction)
    schema = EventSchema.learn(events[:cut])
    coder = EventCoder(schema, relative_bound=bound or None)  # 0: lossless, the bridge's default
    test = events[cut:]
    raw = [(ev.key, ev.value, ev.timestamp, list(ev.headers)) for ev in test]
    model_id = schema.schema_id[:4]
    t0 = time.perf_counter()
    single = []
    for ev in test:
        payload = coder.encode([ev], ev.key, ev.timestamp, single=True)
        single.append(
            (ev.key, pack(Envelope(model_id, Kind.EVENT, payload, version=FRAMING_VERSION)), ev.timestamp, [])
        )
    single_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    windowed = []
    for group in _windows(test, window):
        payload = coder.encode(group, group[-1].key, group[-1].timestamp)
        windowed.append(
            (
                group[-1].key,
                pack(Envelope(model_id, Kind.EVENT_WINDOW, payload, version=FRAMING_VERSION)),
                group[-1].timestamp,
                [],
            )
        )
    window_s = time.perf_counter() - t0
    _check(coder, test, single, windowed)
    n = len(test)
    zstd = kafka_batch_bytes(raw, "zstd") / n
    single_bytes = min(kafka_batch_bytes(single, None), kafka_batch_bytes(single, "zstd")) / n
    return {
        "events": n,
        "raw_json": sum(len(ev.value) for ev in test) / n,
        "raw": kafka_batch_bytes(raw, None) / n,
        "raw_zstd": zstd,
        "single": single_bytes,
        "window": kafka_batch_bytes(windowed, "zstd") / n,
        "single_vs_zstd": single_bytes / zstd,
        "window_vs_zstd": kafka_batch_bytes(windowed, "zstd") / n / zstd,
        "encode_us_single": 1e6 * single_s / n,
        "encode_us_window": 1e6 * window_s / n,
    }


def _check(coder: EventCoder, test: list[Event], single: list, windowed: list) -> None:
    """Every event comes back: key, timestamp, headers and order exact, JSON within the bound."""
    from compressor.envelope import unpack

    back = []
    for key, value, ts, _ in single:
        back.extend(coder.decode(unpack(value).payload, key, ts, single=True))
    assert [(e.key, e.timestamp, e.headers) for e in back] == [(e.key, e.timestamp, e.headers) for e in test]
    restored = []
    for key, value, ts, _ in windowed:
        restored.extend(coder.decode(unpack(value).payload, key, ts))
    assert sorted((e.key, e.timestamp) for e in restored) == sorted((e.key, e.timestamp) for e in test)
    by_key: dict = {}
    for e in test:
        by_key.setdefault(e.key, []).append(e)
    restored_by_key: dict = {}
    for e in restored:
        restored_by_key.setdefault(e.key, []).append(e)
    pairs = list(zip(test, back, strict=True))
    pairs += [
        pair for key, events in by_key.items() for pair in zip(events, restored_by_key[key], strict=True)
    ]
    for original, decoded in pairs:
        a, b = json.loads(original.value), json.loads(decoded.value)
        assert list(a) == list(b), (a, b)
        if coder.code is None:
            assert a == b, (a, b)  # lossless: every value exact


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument(
        "--bound",
        type=float,
        default=0.01,
        help="error bound relative to each field's range; 0 codes every field losslessly (the bridge's default)",
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--bootstrap-servers", default=None, help="measure on this broker (see above)")
    parser.add_argument(
        "--max-delay", type=int, default=1000, help="broker: the windowed bridge's --max-delay"
    )
    parser.add_argument("--readings", type=_ints, default=(1, 4, 16), help="readings per event, e.g. 1,16")
    parser.add_argument(
        "--latency", type=_ints, default=(), help="broker: measure latency at these event rates (per s)"
    )
    parser.add_argument(
        "--live", type=_ints, default=(), help="broker: bytes per event of events sent live at these rates"
    )
    parser.add_argument(
        "--commit-intervals",
        type=_ints,
        default=(),
        help="with --live: the bridge's commit intervals (ms) to compare (default: its default only)",
    )
    args = parser.parse_args(argv)
    if args.bootstrap_servers and args.live:
        return _live_table(args)
    if args.bootstrap_servers and args.latency:
        return _latency_table(args)
    if args.bootstrap_servers:
        return _broker_table(args)
    print(
        "| data | readings | strings | raw JSON | raw | raw + zstd | single | single/zstd | "
        f"window {args.window} | window/zstd | encode µs/event single, window |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for series in load_series(args.data):
        for readings in (1, 4, 16):
            for strings in (False, True):
                r = measure(build_topic(series, readings, strings, args.events), args.window, args.bound)
                print(
                    f"| {series.name} | {readings} | {'yes' if strings else 'no'} | {r['raw_json']:.1f} | "
                    f"{r['raw']:.1f} | {r['raw_zstd']:.1f} | {r['single']:.1f} | {r['single_vs_zstd']:.2f}x | "
                    f"{r['window']:.2f} | {r['window_vs_zstd']:.3f}x | "
                    f"{r['encode_us_single']:.0f}, {r['encode_us_window']:.0f} |",
                    flush=True,
                )
    return 0


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _broker_table(args: argparse.Namespace) -> int:
    from benchmarks.event_broker import measure_on_broker

    print(
        "| data | readings | strings | raw | raw + zstd | single bridge (with start) | single/zstd | "
        f"window {args.window} bridge (with start) | window/zstd | bridge start B |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for series in load_series(args.data):
        for readings in args.readings:
            for strings in (False, True):
                events = _recent_topic(series, readings, strings, args.events)
                r = measure_on_broker(args.bootstrap_servers, events, args.window, args.bound, args.max_delay)
                print(
                    f"| {series.name} | {readings} | {'yes' if strings else 'no'} | {r['raw']:.1f} | "
                    f"{r['raw_zstd']:.1f} | {r['single_steady']:.1f} ({r['single']:.1f}) | "
                    f"{r['single_vs_zstd']:.2f}x | {r['window_steady']:.2f} ({r['window']:.2f}) | "
                    f"{r['window_vs_zstd']:.3f}x | {r['start']} |",
                    flush=True,
                )
    return 0


def _recent_topic(series: Series, readings: int, strings: bool, events: int) -> list[Event]:
    """The topic with its newest event a minute ago, producer ``ts`` and record timestamps alike: brokers
    refuse timestamps far ahead of their clock, and time retention goes by a segment's newest timestamp."""
    span = max(ev.timestamp for ev in build_topic(series, readings, strings, events, base_ms=0))
    return build_topic(series, readings, strings, events, base_ms=int(time.time() * 1000) - 60_000 - span)


def _latency_table(args: argparse.Namespace) -> int:
    from benchmarks.event_latency import measure_latency

    series = load_series(args.data)[0]
    events = build_topic(series, 4, True, args.events)
    print(
        "| events/s | window | events | p50 end to end | p95 | max | bridge metric mean (timestamp to commit) |"
    )
    print("|---|---|---|---|---|---|---|")
    for rate in args.latency:
        for window in (1, args.window):
            r = measure_latency(args.bootstrap_servers, events, window, args.max_delay, rate)
            print(
                f"| {rate} | {window} | {r['received']}/{r['events']} | {r['p50'] * 1000:.0f} ms | "
                f"{r['p95'] * 1000:.0f} ms | {r['max'] * 1000:.0f} ms | {r['metric_mean'] * 1000:.0f} ms |",
                flush=True,
            )
    return 0


def _live_table(args: argparse.Namespace) -> int:
    from benchmarks.event_live import bridge_start_bytes, measure_live
    from streaming.bridge_config import BridgeConfig

    series = load_series(args.data)[0]
    events = _recent_topic(series, 4, True, args.events)
    bridge_start_bytes(args.bootstrap_servers, events)  # a fresh broker creates its transaction log first
    start = bridge_start_bytes(args.bootstrap_servers, events)
    intervals = args.commit_intervals or (BridgeConfig.commit_interval_ms,)
    print(f"bridge start: {start} B")
    print(
        "| events/s | bound | commit interval ms | events | raw | raw + zstd | single bridge | bridge/zstd | "
        "transactions | passed through |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for rate in args.live:
        for bound in (args.bound, 0.0):
            for interval in intervals:
                r = measure_live(args.bootstrap_servers, events, rate, bound, interval, start)
                print(
                    f"| {rate} | {bound or 'lossless'} | {interval} | {r['events']} | {r['raw']:.1f} | "
                    f"{r['raw_zstd']:.1f} | {r['bridge']:.1f} | {r['bridge'] / r['raw_zstd']:.2f}x | "
                    f"{r['transactions']:.0f} | {'yes' if r['passthrough'] else 'no'} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
