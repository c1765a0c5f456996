"""Integer columns of event payloads: every predictor (a least-squares line included), learned priors and
short scale blocks round-trip exactly; a steady clock field makes timestamps cost little more than their
jitter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from compressor.events import Event, EventCoder, EventSchema
from compressor.events.entropy import BLOCK, SHORT_BLOCK, Reader, Tape, _best_classes, _blocks
from compressor.events.numbers import Prior, align, decode_column, encode_column, fit_prior, unalign


def _round_trip(x: np.ndarray, bases: list[np.ndarray], lag: int = 1, prior: Prior | None = None) -> bytes:
    tape = Tape()
    encode_column(tape, x, bases, lag=lag, prior=prior)
    data = tape.finish()
    reader = Reader(data)
    back = decode_column(reader, len(x), bases, lag=lag, prior=prior)
    reader.check_done()
    assert back.tolist() == x.tolist()
    return data


COLUMNS = {
    "steady clock": 1_700_000_000_000 + 15 * np.arange(300) + np.random.default_rng(1).integers(0, 4, 300),
    "random walk": np.cumsum(np.random.default_rng(2).integers(-3, 4, 200)),
    "heavy tails": np.where(
        np.random.default_rng(3).random(256) < 0.1,
        np.random.default_rng(4).integers(-5000, 5000, 256),
        np.random.default_rng(5).integers(-1, 2, 256),
    ),
    "arrays": np.tile(np.arange(16) * 7, 20) + np.random.default_rng(6).integers(-2, 3, 320),
    "one value": np.asarray([-123456789]),
    "short": np.asarray([5, 9, 2]),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_columns_round_trip(name: str) -> None:
    x = np.asarray(COLUMNS[name], dtype=np.int64)
    n = len(x)
    bases = [np.zeros(n, np.int64), np.full(n, int(x[0]), np.int64)]
    _round_trip(x, bases, lag=16 if name == "arrays" else 1)
    for order in (0, 1, 2):
        _round_trip(x, bases, prior=Prior(1, order, 3.0))
        _round_trip(x, bases, prior=Prior(0, order, 1e9))  # a scale far off still codes (escapes)


def test_a_line_fits_a_steady_clock() -> None:
    x = COLUMNS["steady clock"]
    bases = [np.zeros(len(x), np.int64)]
    # jitter of 0..3 ms: about 2 bits per value with the line (a second difference would cost about 4)
    assert len(_round_trip(x, bases)) * 8 / len(x) < 3.0


def test_short_blocks_pay_on_heavy_tails() -> None:
    x = COLUMNS["heavy tails"]
    size, _, bits = _blocks(x)
    assert size == SHORT_BLOCK and bits < _best_classes(x, BLOCK)[1] - 16
    smooth = COLUMNS["random walk"]
    assert _blocks(np.diff(smooth))[0] == BLOCK


def test_fit_prior_picks_the_smaller_residuals() -> None:
    rng = np.random.default_rng(0)
    walks = [np.cumsum(rng.normal(0, 1, 16)) + 1000 for _ in range(50)]
    prior = fit_prior([[w - 1000 for w in walks]], lag=16)
    assert prior.base == 0 and prior.order == 1 and 0.5 < prior.scale < 1.5
    near_ts = [np.asarray([5.0]) for _ in range(10)]
    far = [np.asarray([1e6]) for _ in range(10)]
    assert fit_prior([far, near_ts], lag=1).base == 1


def _clock_events(n: int, seed: int = 0) -> list[Event]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ts = 1_700_000_000_000 + 1000 * i + int(rng.integers(0, 8))
        body = {"ts": ts, "temp": round(20 + float(rng.normal(0, 0.2)), 2)}
        out.append(Event(json.dumps(body).encode(), b"dev", ts + int(rng.integers(1, 5)), ()))
    return out


def test_a_clock_field_codes_timestamps_at_their_jitter() -> None:
    events = _clock_events(400)
    schema = EventSchema.learn(events[:200])
    assert schema.clock == "ts"
    coder = EventCoder(schema)  # lossless: the temperatures cost their decimals
    window = events[200:328]
    payload = coder.encode(window, b"dev", window[-1].timestamp)
    assert coder.decode(payload, b"dev", window[-1].timestamp) == window
    no_temp = [
        Event(json.dumps({"ts": json.loads(e.value)["ts"]}).encode(), e.key, e.timestamp) for e in window
    ]
    alone = EventCoder(EventSchema.learn(no_temp[:64]))
    size = len(alone.encode(no_temp, b"dev", no_temp[-1].timestamp))
    # jitter of 0..7 ms on the clock and 1..4 ms to the record: 5 bits of information per event
    assert size * 8 / len(no_temp) < 8


def test_mixed_decimals_align_and_come_back_exactly() -> None:
    m = np.asarray([739673221, 7396732207, 7396732, -5, 0], np.int64)
    d = np.asarray([7, 8, 5, 0, 3], np.int64)
    aligned = align(m, d)
    assert aligned is not None and aligned[1] == 8
    assert aligned[0][:3].tolist() == [7396732210, 7396732207, 7396732000]
    assert unalign(aligned[0], d).tolist() == m.tolist()
    assert align(np.asarray([1 << 50, 1]), np.asarray([0, 9])) is None  # would not fit
    rng = np.random.default_rng(3)
    events = []
    for i in range(300):
        x = 70 + np.cumsum(rng.normal(0, 0.1, 4))
        texts = [f"{v:.{int(rng.integers(1, 9))}f}".rstrip("0") for v in x] + ["1054.3333333333"]
        body = '{"ts": %d, "values": [%s]}' % (1_700_000_000_000 + 1000 * i, ", ".join(texts))
        events.append(Event(body.encode(), b"k", 1_700_000_000_000 + 1000 * i + 3))
    coder = EventCoder(EventSchema.learn(events[:100]))
    window = events[100:228]
    assert (
        coder.decode(coder.encode(window, b"k", window[-1].timestamp), b"k", window[-1].timestamp) == window
    )
    for ev in events[228:240]:
        assert coder.decode(
            coder.encode([ev], b"k", ev.timestamp, single=True), b"k", ev.timestamp, single=True
        ) == [ev]
