"""Event topics through both bridges on the real broker: single events and per-key windows, every event
restored (key, timestamp, headers, field order and every non-number byte exact, numbers within the bound),
and exactly once through a SIGKILL of each bridge mid-window."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaProducer

from compressor.bundle import load_bundle
from latentwire.cli import main
from tests.integration.bridge_helpers import BridgeProcess, bridge_pair, read_all

pytestmark = pytest.mark.integration

DEVICES = 6
BOUND = 0.01
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _events(n: int, seed: int = 0) -> list[tuple[bytes, bytes, int, list]]:
    """(key, value, timestamp, headers): JSON events as a service writes them, 16 readings each."""
    rng = np.random.default_rng(seed)
    level = rng.normal(60, 8, DEVICES)
    base = int(time.time() * 1000) - 3_600_000  # recent: the broker's retention keeps them
    out = []
    for i in range(n):
        d = i % DEVICES
        level[d] += rng.normal(0, 0.4)
        event = {
            "device_id": f"dev-{d:03d}",
            "site": "north" if d % 2 else "south",
            "ts": base + 1000 * i + int(rng.integers(0, 50)),
            "values": [round(float(level[d] + rng.normal(0, 0.5)), 3) for _ in range(16)],
            "unit": "degF",
            "status": "ok" if rng.random() > 0.05 else "check",
        }
        headers = [("trace", f"t{i}".encode())] if i % 5 == 0 else []
        out.append((f"dev-{d:03d}".encode(), json.dumps(event).encode(), base + 1000 * i + 60, headers))
    return out


def _produce(bootstrap: str, topic: str, events: list, pace: float = 0.0) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    for i, (key, value, ts, headers) in enumerate(events):
        producer.send(topic, key=key, value=value, timestamp_ms=ts, headers=headers)
        if pace and i % 50 == 49:
            time.sleep(pace)
    producer.flush()
    producer.close()


def _feed(bootstrap: str, topic: str, events: list, kills_done: threading.Event) -> None:
    """The first 900 events at 100 per second, then each key's next event at a pace of its own (every
    0.35 s for the first key up to every 2.1 s for the sixth) until both bridges have been killed, then the
    rest at once; each key's events stay in order.

    The paces differ so that windows keep opening at different times: keys that all have an event in every
    poll batch open their windows in the same batch, come due in the same batch and are flushed together,
    so no commit would ever find a window open (what the test kills the compress bridge after)."""
    _produce(bootstrap, topic, events[:900], 0.5)
    queues: dict[bytes, list] = defaultdict(list)
    for event in events[900:]:
        queues[event[0]].append(event)
    keys = sorted(queues)
    pace = {key: 0.35 * (i + 1) for i, key in enumerate(keys)}
    start = time.monotonic()
    sent = dict.fromkeys(keys, 0)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    while not kills_done.wait(0.05) and any(sent[k] < len(queues[k]) for k in keys):
        now = time.monotonic() - start
        for key in keys:
            while sent[key] < len(queues[key]) and sent[key] * pace[key] <= now:
                _, value, ts, headers = queues[key][sent[key]]
                producer.send(topic, key=key, value=value, timestamp_ms=ts, headers=headers)
                sent[key] += 1
    producer.flush()
    producer.close()
    _produce(bootstrap, topic, [e for key in keys for e in queues[key][sent[key] :]])


def _train(bootstrap: str, topic: str, out: Path) -> Path:
    code = main(
        ["train", "--events", "--from-topic", topic, "--max-records", "300", "--bootstrap-servers", bootstrap,
         "--out", str(out), "--json"]
    )  # fmt: skip
    assert code == 0
    return out


def _check(events: list, restored: list, bundle_dir: Path) -> None:
    """Each key's events in order; all but the numbers byte exact; readings within the bound."""
    spec = next(f for f in load_bundle(bundle_dir).events.fields if f.name == "values")  # type: ignore[union-attr]
    tolerance = BOUND * spec.range * (1 + 1e-9) + 1e-9
    mine: dict[bytes, list] = defaultdict(list)
    back: dict[bytes, list] = defaultdict(list)
    for key, value, ts, headers in events:
        mine[key].append((value, ts, headers))
    for msg in restored:
        back[msg.key].append((msg.value, msg.timestamp, list(msg.headers or [])))
    assert set(back) == set(mine)
    for key, originals in mine.items():
        assert len(back[key]) == len(originals), key
        for (value, ts, headers), (got, got_ts, got_headers) in zip(originals, back[key], strict=True):
            assert (got_ts, got_headers) == (ts, headers)
            assert _NUMBER.sub(b"#", got) == _NUMBER.sub(b"#", value)
            a, b = json.loads(value), json.loads(got)
            assert list(a) == list(b)
            assert {k: v for k, v in a.items() if k != "values"} == {
                k: v for k, v in b.items() if k != "values"
            }
            assert np.max(np.abs(np.subtract(a["values"], b["values"]))) <= tolerance


def test_events_cross_both_bridges_alone_and_in_windows(
    kafka_bootstrap: str, topic_factory, tmp_path: Path
) -> None:
    raw = topic_factory(2)
    events = _events(900)
    _produce(kafka_bootstrap, raw, events)
    bundle = _train(kafka_bootstrap, raw, tmp_path / "events-model")
    runs = []
    for name, mode in (("single", ["--window-events", "1"]), ("window", ["--window-events", "32", "--max-delay", "300"])):  # fmt: skip
        packed, restored = topic_factory(2), topic_factory(2)
        log_dir = tmp_path / name
        log_dir.mkdir()
        pair = bridge_pair(
            kafka_bootstrap, log_dir, bundle, (raw, packed, restored),
            compress=[*mode, "--error-bound", str(BOUND), "--group-id", f"ev-{name}-{raw}"],
            decompress=["--events"],
        )  # fmt: skip
        runs.append((name, packed, restored, pair))
    try:
        for _, packed, restored, (compress, decompress) in runs:
            got = read_all(kafka_bootstrap, restored, len(events), timeout=180)
            assert len(got) == len(events), (compress.log(), decompress.log())
            _check(events, got, bundle)
            packed_records = read_all(kafka_bootstrap, packed, 1, timeout=10)
            assert compress.metric("latentwire_bridge_passthrough") == 0
            assert compress.metric("latentwire_bridge_coded_vs_zstd_ratio") < 1
            runs_packed = len(packed_records)
            assert runs_packed <= len(events)
    finally:
        for _, _, _, (compress, decompress) in runs:
            compress.kill()
            decompress.kill()
    # a window holds up to 32 events of one key: far fewer records than events
    assert len(read_all(kafka_bootstrap, runs[1][1], 1, timeout=10)) < len(events) / 8


def _commits(bootstrap: str, group: str, topic: str) -> list:
    """The group's last committed offset and metadata of each partition of ``topic`` (None: none yet)."""
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return [consumer.committed(TopicPartition(topic, p), metadata=True) for p in (0, 1)]
    finally:
        consumer.close()


def _open_windows(bootstrap: str, group: str, topic: str) -> bool:
    """True if the group's last commit held windows open (its metadata names them)."""
    commits = _commits(bootstrap, group, topic)
    return any(c is not None and (c.metadata or "").startswith("lw2:") for c in commits)


@pytest.mark.fault
def test_sigkill_of_each_bridge_mid_window_loses_and_repeats_nothing(
    kafka_bootstrap: str, topic_factory, tmp_path: Path
) -> None:
    raw, packed, restored = topic_factory(2), topic_factory(2), topic_factory(2)
    events = _events(2400, seed=3)
    _produce(kafka_bootstrap, raw, events[:300])
    bundle = _train(kafka_bootstrap, raw, tmp_path / "events-model")
    kills_done = threading.Event()
    feeder = threading.Thread(
        target=_feed, args=(kafka_bootstrap, raw, events[300:], kills_done), daemon=True
    )
    window = ["--window-events", "64", "--max-delay", "3000", "--error-bound", str(BOUND)]

    def start(kind: str, n: int, *, wait: bool = True) -> BridgeProcess:
        if kind == "compress":
            args = ["--model", str(bundle), "--input-topic", raw, "--output-topic", packed, *window]
        else:
            args = ["--model", str(bundle), "--no-registry", "--events", "--input-topic", packed,
                    "--output-topic", restored]  # fmt: skip
        args += ["--transactional-id", f"ev-{kind}"]
        bridge = BridgeProcess(f"{kind}-bridge", args, kafka_bootstrap, tmp_path, f"{kind}{n}")
        if wait:
            bridge.wait_ready()
        return bridge

    compress, decompress = start("compress", 0, wait=False), start("decompress", 0, wait=False)
    compress.wait_ready()  # both start side by side
    decompress.wait_ready()
    feeder.start()
    try:
        for kind in ("compress", "decompress"):
            deadline = time.monotonic() + 120
            watched = compress if kind == "compress" else decompress
            while watched.metric("latentwire_bridge_transactions_total", outcome="committed") < 3:
                assert time.monotonic() < deadline, watched.log()
                time.sleep(0.5)
            if kind == "compress":
                # kill right after a commit that left windows open (its offset metadata names them); a
                # loaded machine may flush every window at --max-delay, so retry on a fresh bridge
                group, killed_open = f"latentwire-compress-{raw}", False
                for attempt in range(1, 6):
                    while not _open_windows(kafka_bootstrap, group, raw):
                        assert time.monotonic() < deadline + 60 * attempt, (
                            f"attempt {attempt}: no commit named an open window; the last commits "
                            f"{_commits(kafka_bootstrap, group, raw)}, transactions "
                            f"{compress.metric('latentwire_bridge_transactions_total', outcome='committed')}, "
                            f"{time.monotonic() - deadline + 120:.0f} s since the feed began\n{compress.log()}"
                        )
                        time.sleep(0.2)
                    compress.kill()
                    killed_open = _open_windows(kafka_bootstrap, group, raw)
                    compress = start("compress", attempt)
                    if killed_open:
                        break
                assert killed_open, "no kill landed while a window was open"
            else:
                time.sleep(1.0)
                decompress.kill()
                decompress = start("decompress", 1)
        kills_done.set()
        feeder.join(timeout=120)
        got = read_all(kafka_bootstrap, restored, len(events), timeout=180)
    finally:
        compress.kill()
        decompress.kill()
    counts = Counter((m.key, m.timestamp) for m in got)
    expected = Counter((key, ts) for key, _, ts, _ in events)
    assert sum((expected - counts).values()) == 0, "lost events"
    assert sum((counts - expected).values()) == 0, "duplicated events"
    _check(events, got, bundle)
