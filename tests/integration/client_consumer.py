"""Consume a latentwire topic with one Kafka client in a process of its own and check every record.

``python tests/integration/client_consumer.py --client C --topic T --bootstrap B --model DIR --reference
R.npy --count N [--bound E]`` reads N records with client C (``kafka-python``, ``confluent``,
``confluent-batch``, ``aiokafka`` or ``quix``) through latentwire's deserializer for that client, matches
each to row ``int(key)`` of the reference, and prints one JSON report: records, missing and repeated keys,
decode failures, the largest error (NaN and Inf must come back exactly) and values outside the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from consumers.resolver import ModelResolver


def kafka_python(args: argparse.Namespace, resolver: ModelResolver) -> list[tuple[bytes, np.ndarray]]:
    from kafka import KafkaConsumer

    from consumers.deserializer import LatentDeserializer

    consumer = KafkaConsumer(
        args.topic, bootstrap_servers=args.bootstrap, auto_offset_reset="earliest", group_id=None,
        consumer_timeout_ms=int(args.timeout * 1000), value_deserializer=LatentDeserializer(resolver),
    )  # fmt: skip
    out = []
    for message in consumer:
        out.append((message.key, message.value))
        if len(out) == args.count:
            break
    consumer.close()
    return out


def _confluent_config(args: argparse.Namespace) -> dict[str, object]:
    return {
        "bootstrap.servers": args.bootstrap,
        "group.id": f"check-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }


def confluent(args: argparse.Namespace, resolver: ModelResolver) -> list[tuple[bytes, np.ndarray]]:
    from confluent_kafka import DeserializingConsumer

    from consumers.confluent import ConfluentDeserializer

    consumer = DeserializingConsumer(
        {**_confluent_config(args), "value.deserializer": ConfluentDeserializer(resolver)}
    )
    consumer.subscribe([args.topic])
    out = []
    deadline = time.monotonic() + args.timeout
    while len(out) < args.count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None:
            out.append((message.key(), message.value()))
    consumer.close()
    return out


def confluent_batch(args: argparse.Namespace, resolver: ModelResolver) -> list[tuple[bytes, np.ndarray]]:
    """``Consumer.consume(num_messages=...)`` batches decoded by the batching consumer."""
    from confluent_kafka import Consumer

    from consumers.batching import BatchingConsumer

    consumer = Consumer(_confluent_config(args))
    consumer.subscribe([args.topic])
    reader = BatchingConsumer(consumer, resolver)
    items = list(reader.records(max_records=args.count, idle_timeout=args.timeout))
    consumer.close()
    failed = [str(i) for i in items if not hasattr(i, "values")]
    if failed:
        raise SystemExit(f"undecodable records: {failed[:3]}")
    return [(item.key, item.values) for item in items]


def aiokafka(args: argparse.Namespace, resolver: ModelResolver) -> list[tuple[bytes, np.ndarray]]:
    from aiokafka import AIOKafkaConsumer

    from consumers.aio import AioDeserializer

    async def run() -> list[tuple[bytes, np.ndarray]]:
        consumer = AIOKafkaConsumer(
            args.topic, bootstrap_servers=args.bootstrap, auto_offset_reset="earliest",
            value_deserializer=AioDeserializer(resolver, topic=args.topic),
        )  # fmt: skip
        await consumer.start()
        out = []
        try:
            while len(out) < args.count:
                message = await asyncio.wait_for(consumer.getone(), args.timeout)
                out.append((message.key, message.value))
        finally:
            await consumer.stop()
        return out

    return asyncio.run(run())


def quix(args: argparse.Namespace, resolver: ModelResolver) -> list[tuple[bytes, np.ndarray]]:
    """A quix-streams application restores the topic into ``<topic>.restored`` (JSON); what it wrote is
    checked."""
    from quixstreams import Application

    from consumers.quix import QuixDeserializer

    with tempfile.TemporaryDirectory() as state:
        app = Application(
            broker_address=args.bootstrap, consumer_group=f"restore-{uuid.uuid4().hex}",
            auto_offset_reset="earliest", state_dir=state, use_changelog_topics=False,
        )  # fmt: skip
        packed = app.topic(args.topic, value_deserializer=QuixDeserializer(resolver))
        restored = app.topic(f"{args.topic}.restored", value_serializer="json")
        app.dataframe(packed).apply(lambda values: {"values": values.tolist()}).to_topic(restored)
        rows = app.run(count=args.count, timeout=args.timeout, metadata=True)
    return [(row["_key"], np.asarray(row["values"], np.float32)) for row in rows]


CLIENTS = {
    "kafka-python": kafka_python,
    "confluent": confluent,
    "confluent-batch": confluent_batch,
    "aiokafka": aiokafka,
    "quix": quix,
}


def check(pairs: list[tuple[bytes, np.ndarray]], reference: np.ndarray, bound: float | None) -> dict:
    keys = [int(key) for key, _ in pairs]
    worst, outside = 0.0, 0
    for key, values in pairs:
        original = reference[int(key)]
        finite = np.isfinite(original)
        if not np.array_equal(values[~finite], original[~finite], equal_nan=True):
            outside += int((~finite).sum())
        error = np.abs(values[finite].astype(np.float64) - original[finite])
        worst = max(worst, float(error.max(initial=0.0)))
        if bound is not None:
            outside += int((error > bound).sum())
    return {
        "records": len(pairs),
        "missing": len(set(range(len(reference))) - set(keys)),
        "repeated": len(keys) - len(set(keys)),
        "max_abs_error": worst,
        "outside_bound": outside,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client", choices=sorted(CLIENTS), required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--bound", type=float)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    pairs = CLIENTS[args.client](args, ModelResolver([args.model]))
    print(json.dumps(check(pairs, np.load(args.reference), args.bound)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
