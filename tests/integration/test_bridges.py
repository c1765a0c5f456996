"""Compress and decompress bridges as real processes against the real broker."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaProducer

from compressor.codec import Codec
from tests.integration.bridge_helpers import BridgeProcess, bridge_pair, read_all

pytestmark = pytest.mark.integration


def _json_record(i: int, values: np.ndarray) -> bytes:
    obj = {
        "id": i,
        "sensor": f"s-{i % 7}",
        "values": [float(v) for v in values],
        "ts": f"2024-01-01T00:00:{i % 60:02d}Z",
        "tags": {"site": "north", "ok": i % 2 == 0},
    }
    return json.dumps(obj).encode()


def _produce(
    bootstrap: str, topic: str, messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]
) -> None:
    """Send ``(key, value, headers)`` messages to ``topic`` and wait until the broker has them all."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    for key, value, headers in messages:
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush()
    producer.close()


def test_json_records_cross_both_bridges_once_each(
    kafka_bootstrap: str,
    topic_factory,
    digits_bundle_dir: Path,
    digits_bundle,
    digits: np.ndarray,
    tmp_path: Path,
) -> None:
    raw, packed, restored = topic_factory(2), topic_factory(2), topic_factory(2)
    records = np.tile(digits, (2, 1))[:3000]
    messages = [
        (str(i).encode(), _json_record(i, row), [("trace", f"t{i}".encode())])
        for i, row in enumerate(records)
    ]
    # two records the bridge cannot compress: not JSON, and the wrong number of values
    messages += [
        (b"bad-1", b"{not json", []),
        (b"bad-2", json.dumps({"id": -1, "values": [1, 2, 3]}).encode(), []),
    ]
    _produce(kafka_bootstrap, raw, messages)

    compress, decompress = bridge_pair(
        kafka_bootstrap,
        tmp_path,
        digits_bundle_dir,
        (raw, packed, restored),
        compress=["--array-field", "values"],
    )
    try:
        compress.wait_ready()
        decompress.wait_ready()
        assert compress.get("/healthz")[0] == 200
        out = read_all(kafka_bootstrap, restored, len(records))
        dlq = read_all(kafka_bootstrap, f"{raw}.dlq", 2, timeout=30)
        scraped = {
            "records": compress.metric("latentwire_bridge_records_total", bridge="compress"),
            "dlq": compress.metric("latentwire_bridge_dead_letters_total"),
            "in": compress.metric("latentwire_bridge_input_bytes_total"),
            "out": compress.metric("latentwire_bridge_output_bytes_total"),
        }
        s1, s2 = compress.stop(), decompress.stop()
    finally:
        compress.kill()
        decompress.kill()
    keys = Counter(m.key for m in out)
    assert len(out) == len(records), f"{len(out)} records restored, {len(keys)} distinct keys"
    assert max(keys.values()) == 1
    expected = Codec(digits_bundle).encode(records).decoded
    for msg in out:
        i = int(msg.key)
        obj = json.loads(msg.value)
        assert list(obj) == ["id", "sensor", "values", "ts", "tags"]
        assert (
            obj["id"] == i
            and obj["sensor"] == f"s-{i % 7}"
            and obj["tags"] == {"site": "north", "ok": i % 2 == 0}
        )
        assert obj["ts"] == f"2024-01-01T00:00:{i % 60:02d}Z"
        assert msg.headers == [("trace", f"t{i}".encode())]
        np.testing.assert_allclose(obj["values"], expected[i], rtol=1e-5, atol=1e-3)
    # the records' own partition order is kept: offsets grow with the original sequence per partition
    for part in {m.partition for m in out}:
        ids = [int(m.key) for m in sorted(out, key=lambda m: m.offset) if m.partition == part]
        assert ids == sorted(ids)
    assert sorted(m.key for m in dlq) == [b"bad-1", b"bad-2"]
    kinds = {m.key: dict(m.headers)["latentwire.error.kind"] for m in dlq}
    assert kinds == {b"bad-1": b"not_numeric", b"bad-2": b"wrong_shape"}
    assert s1["processed"] == len(records) and s1["dead_lettered"] == 2
    assert s2["processed"] == len(records) and s2["dead_lettered"] == 0
    assert scraped["records"] == len(records) and scraped["dlq"] == 2
    assert scraped["in"] > 2 * scraped["out"]  # the untouched JSON fields travel as they are, in a header


def test_float32_records_within_the_error_bound_at_least_once(
    kafka_bootstrap: str, topic_factory, digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path
) -> None:
    raw, packed, restored = topic_factory(), topic_factory(), topic_factory()
    records = digits[:1500]
    bound = 0.25
    _produce(
        kafka_bootstrap,
        raw,
        [(str(i).encode(), row.astype("<f4").tobytes(), []) for i, row in enumerate(records)],
    )
    compress, decompress = bridge_pair(
        kafka_bootstrap,
        tmp_path,
        digits_bundle_dir,
        (raw, packed, restored),
        compress=["--input-format", "f32", "--error-bound", str(bound), "--at-least-once"],
        decompress=["--at-least-once"],
    )
    try:
        out = read_all(kafka_bootstrap, restored, len(records))
        violations = compress.metric("latentwire_bridge_bound_violations_total")
        compress.stop()
        decompress.stop()
    finally:
        compress.kill()
        decompress.kill()
    assert len(out) == len(records)
    got = np.stack([np.frombuffer(m.value, "<f4") for m in sorted(out, key=lambda m: int(m.key))])
    assert np.abs(got - records).max() <= bound
    assert violations == 0


def test_two_bridges_share_partitions_through_a_rebalance(
    kafka_bootstrap: str, topic_factory, digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path
) -> None:
    """Records keep arriving while a second copy joins and then the first one leaves: nothing is lost or
    duplicated in the read_committed output."""
    raw, packed = topic_factory(4), topic_factory(4)
    total = 4000
    records = np.tile(digits, (3, 1))[:total]
    args = [
        "--model",
        str(digits_bundle_dir),
        "--input-topic",
        raw,
        "--output-topic",
        packed,
        "--input-format",
        "f32",
        "--max-poll-records",
        "200",
    ]
    first = BridgeProcess("compress-bridge", args, kafka_bootstrap, tmp_path, "first")
    second = None
    sent = threading.Event()

    def produce() -> None:
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
        for i, row in enumerate(records):
            producer.send(raw, key=str(i).encode(), value=row.astype("<f4").tobytes())
            if i % 50 == 0:  # about 25 s of traffic, so both rebalances happen mid-stream
                producer.flush()
                time.sleep(0.3)
        producer.flush()
        producer.close()
        sent.set()

    thread = threading.Thread(target=produce)
    try:
        first.wait_ready()
        thread.start()
        time.sleep(3)
        second = BridgeProcess("compress-bridge", args, kafka_bootstrap, tmp_path, "second")
        second.wait_ready()
        time.sleep(4)  # both copies now share the four partitions
        s1 = first.stop()  # a second rebalance: the survivor takes every partition
        thread.join(timeout=120)
        assert sent.is_set()
        out = read_all(kafka_bootstrap, packed, total)
        s2 = second.stop()
    finally:
        first.kill()
        if second is not None:
            second.kill()
    keys = Counter(int(m.key) for m in out)
    assert sorted(keys) == list(range(total)), f"missing {sorted(set(range(total)) - set(keys))[:10]}"
    assert max(keys.values()) == 1, f"duplicated: {[k for k, n in keys.items() if n > 1][:10]}"
    assert s1["processed"] > 0 and s2["processed"] > 0
    assert s1["processed"] + s2["processed"] >= total
    assert s1["transactional_id"] != s2["transactional_id"]
