"""Time-bounded fuzzing of everything that parses bytes from Kafka: envelope, both payload kinds, batches.

Two parts, both bounded in time (``LATENTWIRE_FUZZ_SECONDS``, default 60, split between them):

* coverage-free mutation fuzzing: valid envelopes of both kinds (with and without a declared length)
  mutated by bit flips, byte sets, truncations, insertions, deletions, splices and msgpack headers that
  claim gigabytes, fed through ``unpack`` + ``Codec.decode`` and, 64 at a time, through
  ``BatchingConsumer.decode_messages``;
* hypothesis on random bytes behind a valid header.

Every case must return or raise a :class:`~compressor.errors.LatentwireError`; no case may take longer
than a second; the process may not grow by more than 64 MB. The number of cases tried is printed and, when
``LATENTWIRE_FUZZ_REPORT`` names a file, written there as JSON (docs/reliability.md quotes it).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import random
import time
from collections.abc import Iterator

import numpy as np
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from compressor.codec import Codec
from compressor.envelope import MAGIC, unpack
from compressor.errors import LatentwireError
from consumers.batching import BatchingConsumer, DecodedRecord, FailedRecord
from consumers.resolver import ModelResolver
from streaming.metrics import ConsumerMetrics
from tests.records import consumer_record

pytestmark = pytest.mark.fault

SECONDS = float(os.environ.get("LATENTWIRE_FUZZ_SECONDS", "60"))
SEED = int(os.environ.get("LATENTWIRE_FUZZ_SEED", "20240601"))
SLOWEST_CASE_SECONDS = 1.0
RSS_GROWTH_LIMIT = 64 * 1024 * 1024
REPORT: dict[str, object] = {"seed": SEED, "seconds_budget": SECONDS}

_CLAIMS = [
    b"\xc6\xff\xff\xff\xff",
    b"\xdd\xff\xff\xff\xff",
    b"\xdf\x7f\xff\xff\xff",
    b"\xdb\xff\xff\xff\xf0",
    b"\xc9\xff\xff\xff\xff\x01",
    b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\xc5\xff\xff",
    b"\x92",
]


def _mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        op = rng.randrange(8)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[pos % len(buf)] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[pos % len(buf)] = rng.choice(
                (0, 0xFF, 0x7F, 0x80, 0xC1, 0xC4, 0xC6, 0xDD, rng.randrange(256))
            )
        elif op == 2:
            del buf[pos:]
        elif op == 3:
            buf[pos:pos] = rng.randbytes(rng.randrange(1, 9))
        elif op == 4:
            del buf[pos : pos + rng.randrange(1, 5)]
        elif op == 5:  # splice with another corpus entry
            other = rng.choice(corpus)
            buf[pos:] = other[rng.randrange(len(other) + 1) :]
        elif op == 6:  # a container header claiming gigabytes
            buf[pos:pos] = rng.choice(_CLAIMS)
        elif op == 7 and len(buf) > 1:  # the header with another version/kind nibble
            buf[1] = (rng.randrange(3) << 4) | rng.randrange(16)
    return bytes(buf)


@pytest.fixture(scope="module")
def codecs(digits_bundle) -> Iterator[tuple[Codec, Codec]]:
    """The two codecs, with every object alive so far (TensorFlow's hundreds of thousands) moved out of the
    garbage collector's sight for the module: a full collection over them can take a second on a busy
    machine, and would land inside whichever timed case triggered it."""
    gc.collect()
    gc.freeze()
    try:
        yield Codec(digits_bundle), Codec(digits_bundle, error_bound=0.25)
    finally:
        gc.unfreeze()


@pytest.fixture(scope="module")
def corpus(codecs: tuple[Codec, Codec], digits: np.ndarray) -> list[bytes]:
    fixed, bounded = codecs
    rows = digits[:16].copy()
    rows[3, 7] = np.nan  # escapes in the bounded payload
    rows[4, 0] = np.inf
    lengths = [None, 10, None, None, None, 63, 1, None] * 2
    out = fixed.encode(digits[:16]).payloads + fixed.encode(digits[:16], lengths).payloads
    out += bounded.encode(rows).payloads + bounded.encode(rows, lengths).payloads
    return out


def _decode_one(codec: Codec, data: bytes) -> None:
    try:
        envelope = unpack(data)
        if envelope.model_id == codec.wire_id:
            codec.decode([envelope])
    except LatentwireError as exc:
        assert str(exc)


def test_mutation_fuzzing_is_bounded_and_typed(
    codecs: tuple[Codec, Codec], corpus: list[bytes], digits_bundle
) -> None:
    codec = codecs[0]
    rng = random.Random(SEED)
    reader = BatchingConsumer(
        None, ModelResolver([digits_bundle]), metrics=ConsumerMetrics.get(CollectorRegistry())
    )
    process = psutil.Process()
    # each refused record logs a warning, which pytest keeps in memory: silence them for the run
    quiet = logging.getLogger("consumers.batching")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        _fuzz_mutations(codec, rng, reader, process, corpus)
    finally:
        quiet.setLevel(level)


def _fuzz_mutations(
    codec: Codec, rng: random.Random, reader: BatchingConsumer, process: psutil.Process, corpus: list[bytes]
) -> None:
    for data in corpus:  # warm up (lazy predictors, caches) before measuring memory
        _decode_one(codec, data)
    reader.decode_messages([consumer_record("t", 0, i, v) for i, v in enumerate(corpus)])
    rss_before = process.memory_info().rss
    deadline = time.monotonic() + SECONDS / 2
    cases = batches = decoded = failed = 0
    slowest = 0.0
    while time.monotonic() < deadline:
        batch = [_mutate(rng, rng.choice(corpus), corpus) for _ in range(64)]
        for data in batch:
            started = time.perf_counter()
            _decode_one(codec, data)
            slowest = max(slowest, time.perf_counter() - started)
            assert slowest < SLOWEST_CASE_SECONDS, f"{data.hex()} took {slowest:.2f} s"
        results = reader.decode_messages([consumer_record("t", 1, i, v) for i, v in enumerate(batch)])
        assert len(results) == len(batch)
        for result in results:
            assert isinstance(result, DecodedRecord | FailedRecord)
        decoded += sum(isinstance(r, DecodedRecord) for r in results)
        failed += sum(isinstance(r, FailedRecord) for r in results)
        cases += len(batch)
        batches += 1
    growth = process.memory_info().rss - rss_before
    REPORT["mutation"] = {
        "cases": cases, "batches": batches, "decoded": decoded, "refused": failed,
        "slowest_case_seconds": round(slowest, 4), "rss_growth_bytes": growth,
    }  # fmt: skip
    _write_report()
    assert cases > 1000
    assert failed > 0 and decoded > 0  # the fuzzer reaches both outcomes
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth} bytes over {cases} cases"


_hypothesis_cases = [0]


@settings(
    max_examples=int(os.environ.get("LATENTWIRE_FUZZ_EXAMPLES_PER_ROUND", "2000")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(st.integers(0, 47), st.binary(max_size=256))
def _hypothesis_round(codec: Codec, version_kind: int, body: bytes) -> None:
    _hypothesis_cases[0] += 1
    started = time.perf_counter()
    _decode_one(codec, bytes([MAGIC, version_kind]) + codec.wire_id + body)
    assert time.perf_counter() - started < SLOWEST_CASE_SECONDS


def test_hypothesis_fuzzing_of_bodies_is_typed(codecs: tuple[Codec, Codec]) -> None:
    """Rounds of fresh random examples (no example database) until half the time budget is used."""
    deadline = time.monotonic() + SECONDS / 2
    _hypothesis_cases[0] = 0
    rounds = 0
    while time.monotonic() < deadline:
        _hypothesis_round(codecs[0])
        rounds += 1
    REPORT["hypothesis"] = {"cases": _hypothesis_cases[0], "rounds": rounds}
    _write_report()
    assert _hypothesis_cases[0] > 100


def _write_report() -> None:
    print(f"fuzz report: {json.dumps(REPORT)}")
    path = os.environ.get("LATENTWIRE_FUZZ_REPORT")
    if path:
        with open(path, "w") as handle:
            json.dump(REPORT, handle, indent=2)
