"""Writes tests/golden/events_layout3.json: a learned event schema (version 3: two fields on a fine
lattice, a nested object flattened), events, and the exact kind-4 and kind-5 envelopes (wire version 3, payload layout 3) the event
coder makes of them, losslessly and at a 1 % bound (run from the project root: python
tests/golden/make_events_layout3.py).

``accel`` is an accelerometer's counts converted at 10.13 mg per count and truncated to whole mg (written as
floats, ``101.0``), with a few values off the lattice after the learned events; ``load`` counts of 0.067 MW
at 3 decimals; ``pos`` a nested object whose members are fields of their own."""

from __future__ import annotations

import json
from pathlib import Path

from make_events_layout2 import golden

from compressor.events import Event


def events() -> list[Event]:
    out = []
    for i in range(300):
        counts = 40 + (i * 7919) % 61 - 30
        accel = float(counts * 1013 // 100) + (1.0 if i >= 200 and i % 37 == 5 else 0.0)
        body = {
            "ts": 1_700_000_000_000 + 15 * i + (i * 13) % 5,
            "accel": accel,
            "load": round(((i * 31) % 200) * 0.067, 3),
            "pos": {"x": round(1.5 + (i % 7) * 0.25, 2), "zone": "a" if i % 5 else "b"},
        }
        out.append(Event(json.dumps(body).encode(), f"dev-{i % 2}".encode(), 1_700_000_000_020 + 15 * i, ()))
    return out


def main() -> None:
    doc = golden(events(), 200, (None, 0.01))
    (Path(__file__).parent / "events_layout3.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
