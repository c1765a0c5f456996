"""Golden event envelopes (wire version 3, kinds 4 and 5, payload layouts 2 and 3): the coder writes and reads
them bit for bit; layout 1 (``events_v3.json``) is refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compressor.envelope import pack, unpack
from compressor.errors import ConfigError
from compressor.events import Event, EventCoder, EventSchema

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "events_layout2.json").read_text())
LAYOUT3 = json.loads((Path(__file__).parents[1] / "golden" / "events_layout3.json").read_text())
LAYOUT1 = json.loads((Path(__file__).parents[1] / "golden" / "events_v3.json").read_text())


def _event(d: dict) -> Event:
    return Event(
        None if d["value"] is None else bytes.fromhex(d["value"]),
        None if d["key"] is None else bytes.fromhex(d["key"]),
        d["timestamp"],
        tuple((k, bytes.fromhex(v)) for k, v in d["headers"]),
    )


CASES = [(GOLDEN, c) for c in GOLDEN["vectors"]] + [(LAYOUT3, c) for c in LAYOUT3["vectors"]]


@pytest.mark.parametrize(
    ("doc", "case"),
    CASES,
    ids=[f"layout{d['schema']['version']}-kind{c['kind']}-{c['bound']}" for d, c in CASES],
)
def test_golden_event_envelopes(doc: dict, case: dict) -> None:
    schema = EventSchema.from_dict(doc["schema"])
    assert schema.to_dict() == doc["schema"]
    events = [_event(d) for d in doc["events"]]
    coder = EventCoder(schema, relative_bound=case["bound"])
    single = case["kind"] == 5
    key = case["key"].encode()
    env = unpack(bytes.fromhex(case["bytes"]))
    assert env.kind == case["kind"] and env.model_id == schema.schema_id[:4]
    assert bytes.fromhex(case["bytes"])[1] >> 4 == 3  # wire version 3
    payload = coder.encode([events[i] for i in case["events"]], key, case["timestamp"], single=single)
    assert pack(env) == bytes.fromhex(case["bytes"]) and payload == env.payload
    decoded = coder.decode(env.payload, key, case["timestamp"], single=single)
    assert decoded == [_event(d) for d in case["decoded"]]
    if case["bound"] is None:
        assert decoded == [events[i] for i in case["events"]]


def test_layout3_holds_fields_on_a_fine_lattice_and_values_off_it() -> None:
    schema = EventSchema.from_dict(LAYOUT3["schema"])
    assert LAYOUT3["schema"]["version"] == 3 and GOLDEN["schema"]["version"] == 2
    assert {f.name: f.lattice[0] for f in schema.fields if f.lattice} == {"accel": 0, "load": 3}
    assert schema.nested and "pos\x1fx" in schema.by_name
    window = next(c for c in LAYOUT3["vectors"] if c["kind"] == 4 and c["bound"] is None)
    accel = [json.loads(bytes.fromhex(LAYOUT3["events"][i]["value"]))["accel"] for i in window["events"]]
    spec = schema.fields[schema.by_name["accel"]]
    assert not spec.counts(np.asarray(accel, dtype=np.int64))[1].all()  # one value is off the lattice


def test_a_plain_schema_cannot_claim_a_lattice_and_a_bad_lattice_is_refused() -> None:
    doc = json.loads(json.dumps(LAYOUT3["schema"]))
    doc["version"] = 2
    with pytest.raises(ConfigError, match="version 2 cannot hold fine lattices"):
        EventSchema.from_dict(doc)
    doc["version"] = 3
    field = next(f for f in doc["fields"] if "lattice" in f)
    field["lattice"] = [3, 1, 1, 0, False]  # p must exceed r
    with pytest.raises(ConfigError, match="invalid fine lattice"):
        EventSchema.from_dict(doc)


def test_layout1_schema_is_refused_clearly() -> None:
    assert GOLDEN["schema"]["version"] == 2 and LAYOUT1["schema"]["version"] == 1
    with pytest.raises(ConfigError, match="layout 1.*no longer read.*retrain"):
        EventSchema.from_dict(LAYOUT1["schema"])
