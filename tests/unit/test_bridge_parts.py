"""Unit tests of the bridges' Kafka-free parts: record formats, drift window, health endpoints, registry
format, bridge metrics."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request

import msgpack
import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from compressor.drift import DriftMonitor
from compressor.errors import BundleError, ConfigError, ModelMismatchError, NotNumericError, ShapeError
from streaming.health import Health, serve_health
from streaming.metrics import BridgeMetrics
from streaming.raw_records import RecordFormat, restore
from streaming.registry.format import chunk_records, pack_bundle, parse_record, unpack_bundle


def test_json_fields_round_trip_with_every_other_field_exact() -> None:
    fmt = RecordFormat("json", fields=("a", "b"))
    raw = json.dumps({"id": "x-1", "a": 1.5, "ts": 17, "b": -2, "nested": {"k": [1, "z"]}}).encode()
    parsed = fmt.parse(raw, 2)
    np.testing.assert_array_equal(parsed.values, [1.5, -2.0])
    out = json.loads(restore(np.array([1.25, -2.5], np.float32), parsed.header))
    assert list(out) == ["id", "a", "ts", "b", "nested"]
    assert out == {"id": "x-1", "a": 1.25, "ts": 17, "b": -2.5, "nested": {"k": [1, "z"]}}


def test_array_field_and_float32_records() -> None:
    fmt = RecordFormat("json", array_field="v")
    parsed = fmt.parse(b'{"v": [0.1, 0.2, 0.3], "k": "s"}', 3)
    assert json.loads(restore(parsed.values, parsed.header)) == {"v": [0.1, 0.2, 0.3], "k": "s"}
    f32 = RecordFormat("f32")
    values = np.arange(4, dtype="<f4")
    parsed = f32.parse(values.tobytes(), 4)
    assert parsed.header is None and restore(parsed.values, None) == values.tobytes()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"{", NotNumericError),
        (b"[1, 2]", NotNumericError),
        (b'{"v": [1, "x"]}', NotNumericError),
        (b'{"v": [1, 2]}', ShapeError),
        (b'{"w": [1, 2, 3]}', ShapeError),
        (b'{"v": [true, 1, 2]}', NotNumericError),
    ],
)
def test_bad_json_records_are_refused_with_a_kind(value: bytes, error: type) -> None:
    with pytest.raises(error):
        RecordFormat("json", array_field="v").parse(value, 3)


def test_record_format_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        RecordFormat("json")
    with pytest.raises(ConfigError):
        RecordFormat("f32", fields=("a",))
    with pytest.raises(ConfigError):
        RecordFormat("json", fields=("a", "a"))
    with pytest.raises(ShapeError):
        RecordFormat("f32").parse(b"abc", 1)


def test_drift_window_slides_and_flags_changes() -> None:
    monitor = DriftMonitor(window=100, threshold=2.0, min_records=50)
    assert not monitor.update(np.full(40, 5.0)).drifting  # too few records to judge
    state = monitor.update(np.full(20, 5.0))
    assert state.drifting and state.changed
    for _ in range(5):
        state = monitor.update(np.full(50, 1.0))
    assert state.records <= 150 and state.score == pytest.approx(1.0) and not state.drifting


def test_health_endpoints_on_one_port() -> None:
    registry = CollectorRegistry()
    BridgeMetrics.get(registry).records.labels("compress", "t", "m").inc(3)
    now = [0.0]
    health = Health(stall_seconds=10, clock=lambda: now[0])
    server = serve_health(health, 0, registry=registry)
    base = f"http://127.0.0.1:{server.port}"

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as resp:  # noqa: S310
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        assert get("/healthz")[0] == 200
        assert get("/readyz") == (503, "starting\n")
        health.set_check("model", True)
        health.set_check("broker", False, "no broker answered")
        assert get("/readyz") == (503, "broker: no broker answered\n")
        health.set_check("broker", True)
        assert get("/readyz")[0] == 200
        assert (
            'latentwire_bridge_records_total{bridge="compress",model="m",topic="t"} 3.0' in get("/metrics")[1]
        )
        now[0] = 11.0
        assert get("/healthz")[0] == 503
        assert get("/nope")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_registry_archive_round_trip_in_chunks(digits_bundle_dir, tmp_path) -> None:  # noqa: ANN001
    manifest, archive = pack_bundle(digits_bundle_dir)
    records = chunk_records(manifest, archive, 4096)
    assert len(records) == -(-len(archive) // 4096) + 1
    assert records[-1][0] == manifest["model_id"].encode()
    parsed = [parse_record(v) for _, v in records]
    index = parsed[-1]
    assert index["type"] == "index" and index["count"] == len(records) - 1
    joined = b"".join(p["data"] for p in parsed[:-1])
    path = unpack_bundle(manifest["model_id"], joined, index["sha256"], tmp_path)
    assert (path / "manifest.json").read_bytes() == (digits_bundle_dir / "manifest.json").read_bytes()
    # the training windows anomaly detection compares with travel too
    assert (path / "reference.npy").read_bytes() == (digits_bundle_dir / "reference.npy").read_bytes()
    with pytest.raises(ModelMismatchError):
        unpack_bundle(manifest["model_id"], joined[:-1] + b"x", index["sha256"], tmp_path / "other")
    extra = msgpack.packb({**msgpack.unpackb(archive, raw=False), "run.py": b"x"}, use_bin_type=True)
    with pytest.raises(BundleError, match="registry archive must hold"):
        unpack_bundle(manifest["model_id"], extra, hashlib.sha256(extra).hexdigest(), tmp_path / "extra")
    assert parse_record(b"not msgpack") is None and parse_record(None) is None
    assert parse_record(msgpack.packb({"v": 99, "type": "index"})) is None


def test_a_lambda_layer_is_refused(tmp_path) -> None:  # noqa: ANN001
    import zipfile

    from compressor.errors import BundleError
    from streaming.registry.format import _refuse_lambda

    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps({"config": {"layers": [{"class_name": "Lambda"}]}}))
    with pytest.raises(BundleError, match="Lambda"):
        _refuse_lambda(path)
