"""Event coding: windows and single events restored exactly (numbers within the bound), schema round
trips, corrupt payloads refused with EnvelopeError."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from compressor.errors import EnvelopeError
from compressor.events import Event, EventCoder, EventSchema
from compressor.events.jsontext import STYLES, dump, parse


def _sensor_events(n: int, seed: int = 0) -> list[Event]:
    rng = np.random.default_rng(seed)
    out = []
    temp = 20.0
    for i in range(n):
        temp += float(rng.normal(0, 0.3))
        dev = i % 3
        body = {
            "device_id": f"dev-{dev}",
            "ts": 1_700_000_000_000 + 1000 * i + int(rng.integers(0, 50)),
            "temp": round(temp, 3),
            "values": [round(temp + float(rng.normal(0, 0.1)), 2) for _ in range(8)],
            "count": i,
            "adc": int(rng.integers(0, 4096)),
            "status": "ok" if rng.random() > 0.1 else "warn",
            "ok": True,
        }
        headers = (("trace", b"abc"),) if i % 2 else ()
        out.append(
            Event(json.dumps(body).encode(), f"dev-{dev}".encode(), 1_700_000_000_000 + 1000 * i, headers)
        )
    return out


ODD_EVENTS = [
    Event(None, b"dev-0", 5),  # tombstone
    Event(b"not json at all", b"dev-0", 6),
    Event(b'{"device_id": "dev-0",  "temp": 1}', b"dev-0", 7),  # a spelling no style reproduces
    Event(b'{"device_id":"dev-9","temp":21.50,"ts":1700000000000}', b"dev-0", 8),  # compact, other order
    Event('{"device_id": "d\\u00e9v", "temp": null, "extra": {"a": [1, 2.5e3]}}'.encode(), None, 9),
    Event(b'{"temp": "n/a", "values": [1.5, "x"], "count": -0, "ok": false}', b"other", 10, (("h", b""),)),
    Event(b'{"values": [], "count": 12345678901234567890123}', b"dev-0", 11),
    Event(b"[1, 2, 3]", b"dev-0", 12),
    Event(b'{"temp": 1e400}', b"dev-0", 13),
]


def _check(original: list[Event], restored: list[Event], schema: EventSchema, bound: float | None) -> None:
    assert len(restored) == len(original)
    for a, b in zip(original, restored, strict=True):
        assert (a.key, a.timestamp, a.headers) == (b.key, b.timestamp, b.headers)
        if a.value is None or bound is None:
            assert a.value == b.value
            continue
        try:
            obj = parse(a.value)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            assert a.value == b.value
            continue
        back = parse(b.value)
        assert list(back) == list(obj)
        for k, v in obj.items():
            spec = schema.fields[schema.by_name[k]] if k in schema.by_name else None
            lossy = spec is not None and spec.lossy and spec.range > 0
            if not lossy:
                assert dump(back[k], STYLES[0]) == dump(v, STYLES[0]), k
                continue
            xs = v if isinstance(v, list) else [v]
            ys = back[k] if isinstance(back[k], list) else [back[k]]
            for x, y in zip(xs, ys, strict=True):
                if isinstance(x, str) and isinstance(y, str) and x.replace(".", "").lstrip("-").isdigit():
                    fx, fy = float(x), float(y)
                    if math.isfinite(fx):
                        assert abs(fx - fy) <= bound * spec.range * 1.0000001, (k, x, y)
                        continue
                assert x == y


@pytest.mark.parametrize("bound", [0.01, None])
def test_window_round_trip_keeps_every_event(bound: float | None) -> None:
    events = _sensor_events(200)
    schema = EventSchema.learn(events[:100])
    coder = EventCoder(schema, relative_bound=bound)
    window = [e for e in events[100:] if e.key == b"dev-1"] + ODD_EVENTS
    payload = coder.encode(window, b"dev-1", window[-1].timestamp)
    _check(window, coder.decode(payload, b"dev-1", window[-1].timestamp), schema, bound)


def test_single_events_round_trip_and_are_small() -> None:
    events = _sensor_events(300)
    schema = EventSchema.learn(events[:150])
    coder = EventCoder(schema, relative_bound=0.01)
    sizes = []
    for ev in events[150:] + ODD_EVENTS:
        payload = coder.encode([ev], ev.key, ev.timestamp, single=True)
        _check([ev], coder.decode(payload, ev.key, ev.timestamp, single=True), schema, 0.01)
        if ev in events:
            sizes.append(len(payload))
    assert np.mean(sizes) < np.mean([len(e.value) for e in events[150:]]) / 5


def test_integer_readings_decode_as_integers_within_the_bound() -> None:
    events = _sensor_events(200)
    schema = EventSchema.learn(events[:100])
    spec = schema.fields[schema.by_name["adc"]]
    assert spec.lossy and spec.integer
    assert not schema.fields[schema.by_name["count"]].lossy  # a counter stays exact
    coder = EventCoder(schema, relative_bound=0.01)
    back = coder.decode(coder.encode(events[100:], None, 0), None, 0)
    for a, b in zip(events[100:], back, strict=True):
        x, y = json.loads(a.value), json.loads(b.value)
        assert isinstance(y["adc"], int) and abs(x["adc"] - y["adc"]) <= 0.01 * spec.range
        assert y["count"] == x["count"] and y["ts"] == x["ts"]


def test_integer_arrays_of_readings_are_lossy_and_arrays_of_counters_exact() -> None:
    """An array of ADC samples (integers that go up and down) is a reading; an array whose values never
    decrease along a key (sample numbers) stays exact."""
    rng = np.random.default_rng(3)
    events = []
    for i in range(200):
        wave = [int(1000 + 300 * np.sin((10 * i + j) / 9) + rng.integers(-4, 5)) for j in range(10)]
        body = {"ecg": wave, "samples": list(range(10 * i, 10 * i + 10))}
        events.append(Event(json.dumps(body).encode(), b"bed-1", 1_700_000_000_000 + 28 * i, ()))
    schema = EventSchema.learn(events[:100])
    ecg, samples = (schema.fields[schema.by_name[n]] for n in ("ecg", "samples"))
    assert ecg.lossy and ecg.integer and not samples.lossy
    coder = EventCoder(schema, relative_bound=0.01)
    back = coder.decode(
        coder.encode(events[100:], b"bed-1", events[-1].timestamp), b"bed-1", events[-1].timestamp
    )
    lossless = EventCoder(schema).encode(events[100:], b"bed-1", events[-1].timestamp)
    assert len(coder.encode(events[100:], b"bed-1", events[-1].timestamp)) < 0.7 * len(lossless)
    for a, b in zip(events[100:], back, strict=True):
        x, y = json.loads(a.value), json.loads(b.value)
        assert y["samples"] == x["samples"] and all(isinstance(v, int) for v in y["ecg"])
        assert np.abs(np.subtract(x["ecg"], y["ecg"])).max() <= 0.01 * ecg.range


def test_schema_round_trips_through_json() -> None:
    schema = EventSchema.learn(_sensor_events(50) + ODD_EVENTS)
    again = EventSchema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again == schema and again.schema_id == schema.schema_id


def test_corrupt_payloads_raise_envelope_error() -> None:
    events = _sensor_events(120)
    coder = EventCoder(EventSchema.learn(events[:60]), relative_bound=0.01)
    payload = coder.encode(events[60:], None, 0)
    rng = np.random.default_rng(1)
    for cut in range(0, len(payload), max(1, len(payload) // 40)):
        try:
            coder.decode(payload[:cut], None, 0)
        except EnvelopeError:
            pass
    for _ in range(60):
        bad = bytearray(payload)
        bad[int(rng.integers(0, len(bad)))] ^= 1 << int(rng.integers(0, 8))
        try:
            coder.decode(bytes(bad), None, 0)
        except EnvelopeError:
            pass


def _lattice_events(n: int, seed: int = 3) -> list[Event]:
    """Counts of a sensor truncated toward zero at 10.13 units per count (a mirrored lattice), written as
    floats (``-101.0``), and a load at 0.067 per count, 3 decimals; values off the lattice now and then."""
    rng = np.random.default_rng(seed)
    out, k = [], 0
    for i in range(n):
        k = int(np.clip(k + rng.integers(-3, 4), -60, 60))
        accel = float(int(k * 1013 / 100)) + (1.0 if i > n // 2 and rng.random() < 0.02 else 0.0)
        body = {
            "ts": 1_000_000 + 20 * i + int(rng.integers(0, 3)),
            "accel": accel,
            "load": round(int(rng.integers(0, 300)) * 0.067, 3),
        }
        out.append(Event(json.dumps(body).encode(), b"k", 1_000_005 + 20 * i))
    return out


def test_fields_on_a_fine_lattice_travel_as_counts_and_come_back_exactly() -> None:
    events = _lattice_events(900)
    schema = EventSchema.learn(events[:300])
    lattices = {f.name: f.lattice for f in schema.fields if f.lattice}
    assert set(lattices) == {"accel", "load"} and lattices["accel"][0] == 0 and lattices["accel"][4]
    assert schema.to_dict()["version"] == 3
    plain = replace(schema, fields=tuple(replace(f, lattice=()) for f in schema.fields))
    assert plain.to_dict()["version"] == 2
    test = events[300:]
    coder, other = EventCoder(schema), EventCoder(plain)
    for size in (1, 5, 128, 600):
        for start in range(0, len(test), size):
            window = test[start : start + size]
            single = size == 1
            payload = coder.encode(window, b"k", window[-1].timestamp, single=single)
            assert coder.decode(payload, b"k", window[-1].timestamp, single=single) == window
    # counts are cheaper than the mantissas they stand for
    assert len(payload) < 0.8 * len(other.encode(window, b"k", window[-1].timestamp))


def test_nested_objects_are_fields_of_their_own_and_come_back_byte_for_byte() -> None:
    from compressor.events.jsontext import SEP, flatten, unflatten

    obj = {"a": 1, "pos": {"x": 1.5, "y": {"z": [1, {"w": 2}]}}, "empty": {}, "b": None}
    flat = flatten(obj)
    assert list(flat) == ["a", f"pos{SEP}x", f"pos{SEP}y{SEP}z", "empty", "b"]
    assert unflatten(flat) == obj and list(unflatten(flat)["pos"]) == ["x", "y"]
    assert flatten({f"a{SEP}b": 1}) is None
    rng = np.random.default_rng(5)
    events = []
    for i in range(400):
        pos = {"lat": round(45 + rng.normal() / 100, 5), "lon": round(7 + rng.normal() / 100, 5)}
        body: dict = {
            "id": f"car-{i % 3}",
            "pos": pos if i % 9 else dict(reversed(pos.items())),
            "speed": i % 50,
        }
        if i % 13 == 0:
            body["pos"] = {}
        if i % 17 == 0:
            body["extra"] = {"note": "x", "deep": {"k": i}}
        if i % 29 == 0:
            body[f"odd{SEP}key"] = 1
        events.append(Event(dump(body, STYLES[i % 2]).encode(), f"car-{i % 3}".encode(), 1000 + i))
    schema = EventSchema.learn(events[:150])
    assert schema.nested and f"pos{SEP}lat" in schema.by_name and schema.to_dict()["version"] == 3
    assert EventSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema
    for bound in (None, 0.01):
        coder = EventCoder(schema, relative_bound=bound)
        for key in (b"car-0", b"car-1"):
            window = [e for e in events[150:] if e.key == key]
            back = coder.decode(coder.encode(window, key, window[-1].timestamp), key, window[-1].timestamp)
            exact = [b == e for b, e in zip(back, window, strict=True)]
            assert all(exact) if bound is None else sum(exact) > 0
            if bound is not None:  # within the bound, nesting and key order kept
                for b, e in zip(back, window, strict=True):
                    got, want = parse(b.value), parse(e.value)
                    assert list(got) == list(want) and list(got.get("pos", {})) == list(want.get("pos", {}))


def test_corrupt_layout3_payloads_raise_envelope_error() -> None:
    events = _lattice_events(400, seed=9)
    nested = [
        Event(
            dump({"n": {"v": json.loads(e.value)["accel"]}, **json.loads(e.value)}, STYLES[0]).encode(),
            e.key,
            e.timestamp,
        )
        for e in events
    ]
    for sample in (events, nested):
        coder = EventCoder(EventSchema.learn(sample[:200]))
        payload = coder.encode(sample[200:], b"k", 0)
        assert coder.decode(payload, b"k", 0) == sample[200:]
        rng = np.random.default_rng(2)
        for _ in range(80):
            bad = bytearray(payload)
            bad[int(rng.integers(0, len(bad)))] ^= 1 << int(rng.integers(0, 8))
            try:
                coder.decode(bytes(bad), b"k", 0)
            except EnvelopeError:
                pass
