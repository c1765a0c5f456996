"""Every Kafka client's round trip against the real broker: produce with one client, consume with another
in a separate process (tests/integration/client_consumer.py), every record back and every value within
the error bound there."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaProducer

from compressor.codec import Codec
from producers.batching import BatchingProducer
from producers.serializer import LatentSerializer

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
BOUND = 0.5  # digits are integers 0..16


@pytest.fixture
def records(digits: np.ndarray) -> np.ndarray:
    """600 real records; two carry NaN and Inf, which the error-bounded codec stores exactly."""
    rows = digits[:600].copy()
    rows[7, 3], rows[11, 60] = np.nan, np.inf
    return rows


def consume_elsewhere(
    client: str, topic: str, bootstrap: str, bundle_dir: Path, reference: np.ndarray, tmp_path: Path
) -> dict:
    """Consume with ``client`` in its own process (one BLAS thread) and return its report."""
    ref = tmp_path / f"reference-{uuid.uuid4().hex[:6]}.npy"
    np.save(ref, reference)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, str(HERE / "client_consumer.py"), "--client", client, "--topic", topic,
         "--bootstrap", bootstrap, "--model", str(bundle_dir), "--reference", str(ref),
         "--count", str(len(reference)), "--bound", str(BOUND)],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_all_back(report: dict, n: int) -> None:
    assert report == {
        "records": n,
        "missing": 0,
        "repeated": 0,
        "max_abs_error": pytest.approx(report["max_abs_error"]),
        "outside_bound": 0,
    }
    assert report["max_abs_error"] <= BOUND


def test_confluent_producer_to_kafka_python_consumer(
    kafka_bootstrap: str, topic: str, digits_bundle, digits_bundle_dir: Path, records, tmp_path: Path
) -> None:
    from confluent_kafka import Producer, SerializingProducer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from producers.confluent import ConfluentSerializer

    serializer = ConfluentSerializer(digits_bundle, error_bound=BOUND)
    half = len(records) // 2
    producer = SerializingProducer({"bootstrap.servers": kafka_bootstrap, "value.serializer": serializer})
    for i, row in enumerate(records[:half]):
        producer.produce(topic, key=str(i).encode(), value=row)
    assert producer.flush(30) == 0
    plain = Producer({"bootstrap.servers": kafka_bootstrap})  # no serializer: call it per record
    ctx = SerializationContext(topic, MessageField.VALUE)
    for i, row in enumerate(records[half:], start=half):
        plain.produce(topic, serializer(row, ctx), str(i).encode())
    assert plain.flush(30) == 0
    report = consume_elsewhere("kafka-python", topic, kafka_bootstrap, digits_bundle_dir, records, tmp_path)
    assert_all_back(report, len(records))


def test_kafka_python_producer_to_confluent_consumer(
    kafka_bootstrap: str, topic: str, digits_bundle, digits_bundle_dir: Path, records, tmp_path: Path
) -> None:
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, value_serializer=LatentSerializer(digits_bundle, error_bound=BOUND)
    )
    for i, row in enumerate(records):
        producer.send(topic, key=str(i).encode(), value=row)
    producer.flush()
    producer.close()
    report = consume_elsewhere("confluent", topic, kafka_bootstrap, digits_bundle_dir, records, tmp_path)
    assert_all_back(report, len(records))


def test_confluent_batch_path_with_dead_letters(
    kafka_bootstrap: str, topic_factory, digits_bundle, digits_bundle_dir: Path, records, tmp_path: Path
) -> None:
    """A confluent-kafka Producer driven by the batching producer (one model call per batch), refused
    records on the dead-letter topic, and ``Consumer.consume`` batches decoded in another process."""
    from confluent_kafka import Consumer, Producer

    topic, dlq = topic_factory(), topic_factory()
    batch = list(records) + [np.zeros(3), "not numbers"]  # two refused records at the end
    producer = BatchingProducer(
        Producer({"bootstrap.servers": kafka_bootstrap}), Codec(digits_bundle, error_bound=BOUND), topic,
        batch_size=256, dead_letter_topic=dlq,
    )  # fmt: skip
    report = producer.send(batch, keys=[str(i).encode() for i in range(len(batch))])
    producer.flush(30)
    assert report.sent == len(records) and [r.index for r in report.rejected] == [600, 601]
    consumed = consume_elsewhere(
        "confluent-batch", topic, kafka_bootstrap, digits_bundle_dir, records, tmp_path
    )
    assert_all_back(consumed, len(records))

    dead = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": uuid.uuid4().hex,
                     "auto.offset.reset": "earliest"})  # fmt: skip
    dead.subscribe([dlq])
    letters = []
    while len(letters) < 2:
        letters += [m for m in dead.consume(num_messages=10, timeout=10) if m.error() is None]
    dead.close()
    kinds = sorted(dict(m.headers())["latentwire.error.kind"] for m in letters)
    assert kinds == [b"not_numeric", b"wrong_shape"]
    assert sorted(m.key() for m in letters) == [b"600", b"601"]


def test_aiokafka_round_trip(
    kafka_bootstrap: str, topic: str, digits_bundle, digits_bundle_dir: Path, records, tmp_path: Path
) -> None:
    from aiokafka import AIOKafkaProducer

    from producers.aio import AioSerializer

    async def produce() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka_bootstrap,
            value_serializer=AioSerializer(digits_bundle, error_bound=BOUND, topic=topic),
        )
        await producer.start()
        try:
            for i, row in enumerate(records):
                await producer.send(topic, row, key=str(i).encode())
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(produce())
    report = consume_elsewhere("aiokafka", topic, kafka_bootstrap, digits_bundle_dir, records, tmp_path)
    assert_all_back(report, len(records))


def test_quix_application_compresses_and_another_restores(
    kafka_bootstrap: str, topic: str, digits_bundle, digits_bundle_dir: Path, digits, tmp_path: Path
) -> None:
    """JSON records on a raw topic; a quix-streams application compresses them onto a latent topic; a
    second application, in another process, restores that topic to JSON and the values are checked."""
    from quixstreams import Application

    from producers.quix import QuixSerializer

    records = digits[:400]  # JSON carries no NaN: the plain digits
    raw = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for i, row in enumerate(records):
        raw.send(topic, key=str(i).encode(), value=json.dumps({"values": row.tolist()}).encode())
    raw.flush()
    raw.close()

    packed_topic = f"{topic}.latent"
    app = Application(
        broker_address=kafka_bootstrap, consumer_group=f"compress-{uuid.uuid4().hex}",
        auto_offset_reset="earliest", state_dir=tmp_path / "state", use_changelog_topics=False,
    )  # fmt: skip
    source = app.topic(topic, value_deserializer="json")
    packed = app.topic(packed_topic, value_serializer=QuixSerializer(digits_bundle, error_bound=BOUND))
    app.dataframe(source).apply(lambda row: row["values"]).to_topic(packed)
    app.run(count=len(records), timeout=60, collect=False)

    report = consume_elsewhere("quix", packed_topic, kafka_bootstrap, digits_bundle_dir, records, tmp_path)
    assert_all_back(report, len(records))
