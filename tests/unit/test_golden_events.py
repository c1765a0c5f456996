"""Golden event envelopes (wire version 3, kinds 4 and 5, payload layout 2): the coder writes and reads them
bit for bit; layout 1 (``events_v3.json``) is refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compressor.envelope import pack, unpack
from compressor.errors import ConfigError
from compressor.events import Event, EventCoder, EventSchema

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "events_layout2.json").read_text())
LAYOUT1 = json.loads((Path(__file__).parents[1] / "golden" / "events_v3.json").read_text())
SCHEMA = EventSchema.from_dict(GOLDEN["schema"])


def _event(d: dict) -> Event:
    return Event(
        None if d["value"] is None else bytes.fromhex(d["value"]),
        None if d["key"] is None else bytes.fromhex(d["key"]),
        d["timestamp"],
        tuple((k, bytes.fromhex(v)) for k, v in d["headers"]),
    )


EVENTS = [_event(d) for d in GOLDEN["events"]]


@pytest.mark.parametrize("case", GOLDEN["vectors"], ids=lambda c: f"kind{c['kind']}-{c['bound']}")
def test_golden_event_envelopes(case: dict) -> None:
    coder = EventCoder(SCHEMA, relative_bound=case["bound"])
    single = case["kind"] == 5
    key = case["key"].encode()
    env = unpack(bytes.fromhex(case["bytes"]))
    assert env.kind == case["kind"] and env.model_id == SCHEMA.schema_id[:4]
    assert bytes.fromhex(case["bytes"])[1] >> 4 == 3  # wire version 3
    payload = coder.encode([EVENTS[i] for i in case["events"]], key, case["timestamp"], single=single)
    assert pack(env) == bytes.fromhex(case["bytes"]) and payload == env.payload
    decoded = coder.decode(env.payload, key, case["timestamp"], single=single)
    assert decoded == [_event(d) for d in case["decoded"]]
    if case["bound"] is None:
        assert decoded == [EVENTS[i] for i in case["events"]]


def test_layout1_schema_is_refused_clearly() -> None:
    assert GOLDEN["schema"]["version"] == 2 and LAYOUT1["schema"]["version"] == 1
    with pytest.raises(ConfigError, match="layout 1.*no longer read.*retrain"):
        EventSchema.from_dict(LAYOUT1["schema"])
