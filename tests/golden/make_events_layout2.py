"""Writes tests/golden/events_layout2.json: a learned event schema (version 2), events, and the exact
kind-4 and kind-5 envelopes (wire version 3, payload layout 2) the event coder makes of them (run from the
project root: python tests/golden/make_events_layout2.py). ``events_v3.json`` holds layout 1, which
consumers no longer read (its schema is refused)."""

from __future__ import annotations

import json
from pathlib import Path

from compressor.envelope import Envelope, Kind, pack
from compressor.events import Event, EventCoder, EventSchema


def events() -> list[Event]:
    out = []
    temp, count = 20.0, 0
    for i in range(40):
        temp += ((i * 37) % 11 - 5) / 10.0
        count += 1 + i % 3
        body = {
            "device_id": f"dev-{i % 2}",
            "ts": 1_700_000_000_000 + 1000 * i + (i * 13) % 50,
            "values": [round(temp + k / 8, 2) for k in range(4)],
            "count": count,
            "status": "ok" if i % 7 else "warn",
        }
        out.append(
            Event(json.dumps(body).encode(), f"dev-{i % 2}".encode(), 1_700_000_000_000 + 1000 * i, ())
        )
    out.append(Event(None, b"dev-1", 1_700_000_050_000))
    out.append(Event(b'{"device_id":"new","extra":[1,"x"]}', b"dev-1", 1_700_000_051_000, (("h", b"1"),)))
    return out


def golden(evs: list[Event], learned: int, bounds: tuple) -> dict:
    """The schema learned from ``evs[:learned]``, the events and, per bound, the kind-4 envelope of the
    window of key ``dev-1`` after the learned events and the kind-5 envelope of the event after them."""
    schema = EventSchema.learn(evs[:learned])
    vectors = []
    for bound in bounds:
        coder = EventCoder(schema, relative_bound=bound)
        window = [e for e in evs[learned:] if e.key == b"dev-1"]
        payload = coder.encode(window, b"dev-1", window[-1].timestamp)
        env = pack(Envelope(schema.schema_id[:4], Kind.EVENT_WINDOW, payload))
        vectors.append(
            {
                "kind": 4,
                "bound": bound,
                "events": [learned + evs[learned:].index(e) for e in window],
                "key": "dev-1",
                "timestamp": window[-1].timestamp,
                "bytes": env.hex(),
                "decoded": [_event_json(e) for e in coder.decode(payload, b"dev-1", window[-1].timestamp)],
            }
        )
        ev = evs[learned + 1]
        payload = coder.encode([ev], ev.key, ev.timestamp, single=True)
        env = pack(Envelope(schema.schema_id[:4], Kind.EVENT, payload))
        vectors.append(
            {
                "kind": 5,
                "bound": bound,
                "events": [learned + 1],
                "key": ev.key.decode(),
                "timestamp": ev.timestamp,
                "bytes": env.hex(),
                "decoded": [_event_json(e) for e in coder.decode(payload, ev.key, ev.timestamp, single=True)],
            }
        )
    return {"schema": schema.to_dict(), "events": [_event_json(e) for e in evs], "vectors": vectors}


def main() -> None:
    doc = golden(events(), 30, (0.01, None))
    (Path(__file__).parent / "events_layout2.json").write_text(json.dumps(doc, indent=1) + "\n")


def _event_json(e: Event) -> dict:
    return {
        "value": None if e.value is None else e.value.hex(),
        "key": None if e.key is None else e.key.hex(),
        "timestamp": e.timestamp,
        "headers": [[k, v.hex()] for k, v in e.headers],
    }


if __name__ == "__main__":
    main()
