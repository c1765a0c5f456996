"""The whole path against a real broker: produce latents, consume and decode, metrics and dead letters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaConsumer, KafkaProducer
from prometheus_client import CollectorRegistry

from compressor.codec import Codec
from consumers.batching import BatchingConsumer, DecodedRecord, FailedRecord
from consumers.deserializer import LatentDeserializer
from consumers.resolver import ModelResolver
from latentwire.side_by_side import run_side_by_side
from producers.batching import BatchingProducer
from producers.serializer import LatentSerializer
from streaming.metrics import ConsumerMetrics, ProducerMetrics

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _consumer(bootstrap: str, topic: str, **kw: object) -> KafkaConsumer:
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=15000,
        **kw,
    )


def test_thousands_of_records_cross_the_broker(
    kafka_bootstrap: str, topic: str, digits_bundle, digits
) -> None:
    registry = CollectorRegistry()
    records = np.tile(digits, (2, 1))  # 3594 real records
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    codec = Codec(digits_bundle)
    batching = BatchingProducer(
        producer, codec, topic, batch_size=1000, metrics=ProducerMetrics.get(registry)
    )
    keys = [str(i).encode() for i in range(len(records))]
    report = batching.send(records, keys=keys)
    batching.flush()
    producer.close()
    assert report.sent == len(records) and not report.rejected
    expected = codec.encode(records).decoded

    consumer = _consumer(kafka_bootstrap, topic)
    reader = BatchingConsumer(consumer, ModelResolver([digits_bundle]), metrics=ConsumerMetrics.get(registry))
    got = list(reader.records(max_records=len(records), idle_timeout=20))
    consumer.close()
    assert all(isinstance(r, DecodedRecord) for r in got)
    assert len(got) == len(records)
    by_key = {int(r.key): r.values for r in got}
    assert sorted(by_key) == list(range(len(records)))
    decoded = np.stack([by_key[i] for i in range(len(records))])
    # what the producer measured, up to float rounding of a differently batched matrix product
    np.testing.assert_allclose(decoded, expected, rtol=1e-5, atol=1e-4)
    train_rmse = digits_bundle.training["heldback_rmse"]
    assert np.sqrt(np.mean((decoded - records) ** 2)) < 1.5 * train_rmse

    model = {"topic": topic, "model": digits_bundle.model_id[:8]}
    assert registry.get_sample_value("latentwire_producer_records_total", model) == len(records)
    assert registry.get_sample_value("latentwire_consumer_records_total", model) == len(records)
    assert registry.get_sample_value("latentwire_producer_compression_ratio", model) > 10
    assert registry.get_sample_value("latentwire_producer_reconstruction_rmse_count", model) == len(records)
    assert registry.get_sample_value("latentwire_producer_encode_seconds_count", model) == 4


def test_bad_records_go_to_the_dead_letter_topic(
    kafka_bootstrap: str, topic: str, digits_bundle, digits
) -> None:
    registry = CollectorRegistry()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    dlq = f"{topic}.dlq"
    batching = BatchingProducer(
        producer, Codec(digits_bundle), topic, dead_letter_topic=dlq, metrics=ProducerMetrics.get(registry)
    )
    rows = [digits[0], np.full(64, np.nan), digits[1], [1.0, 2.0], ["x"] * 64, digits[2]]
    report = batching.send(rows, keys=[str(i).encode() for i in range(len(rows))])
    batching.flush()
    producer.close()
    assert report.sent == 3
    assert [r.index for r in report.rejected] == [1, 3, 4]

    consumer = _consumer(kafka_bootstrap, dlq)
    dead = [next(consumer) for _ in range(3)]
    consumer.close()
    kinds = [dict(m.headers)["latentwire.error.kind"].decode() for m in dead]
    assert kinds == ["non_finite", "wrong_shape", "not_numeric"]
    assert [m.key for m in dead] == [b"1", b"3", b"4"]
    assert json.loads(dead[1].value) == [1.0, 2.0]
    assert b"must hold 64 values" in dict(dead[1].headers)["latentwire.error"]
    assert (
        registry.get_sample_value(
            "latentwire_producer_dead_letters_total", {"topic": topic, "kind": "non_finite"}
        )
        == 1
    )


def test_consumer_survives_garbage_and_unknown_models(
    kafka_bootstrap: str, topic: str, digits_bundle, digits
) -> None:
    registry = CollectorRegistry()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, value_serializer=None)
    good = Codec(digits_bundle).encode(digits[:2]).payloads
    for value in [good[0], b"garbage", b"\xc1\x10\x00\x00\x00\x00\xc4\x01x", good[1][:6], good[1]]:
        producer.send(topic, value=value)
    producer.flush()
    producer.close()
    consumer = _consumer(kafka_bootstrap, topic)
    reader = BatchingConsumer(consumer, ModelResolver([digits_bundle]), metrics=ConsumerMetrics.get(registry))
    got = list(reader.records(max_records=5, idle_timeout=20))
    consumer.close()
    assert [type(r).__name__ for r in got] == [
        "DecodedRecord",
        "FailedRecord",
        "FailedRecord",
        "FailedRecord",
        "DecodedRecord",
    ]
    failures = [r for r in got if isinstance(r, FailedRecord)]
    assert [f.error.kind for f in failures] == ["bad_magic", "unknown_model", "truncated"]
    assert all(f.topic == topic and f.partition == 0 for f in failures)
    assert [f.offset for f in failures] == [1, 2, 3]
    assert f"{topic}[0]@1" in str(failures[0])


def test_serializers_with_plain_kafka_clients(
    kafka_bootstrap: str, topic: str, digits_bundle, digits
) -> None:
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, value_serializer=LatentSerializer(digits_bundle)
    )
    for row in digits[:50]:
        producer.send(topic, row)
    producer.flush()
    producer.close()
    consumer = _consumer(
        kafka_bootstrap, topic, value_deserializer=LatentDeserializer(ModelResolver([digits_bundle]))
    )
    values = [next(consumer).value for _ in range(50)]
    consumer.close()
    expected = Codec(digits_bundle).encode(digits[:50]).decoded
    np.testing.assert_allclose(np.stack(values), expected, rtol=1e-5, atol=1e-4)


def test_cli_produce_then_consume_in_another_process(
    kafka_bootstrap: str, topic: str, digits_bundle_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    """Train on one real series, produce it, decode in a separate process and check the error there."""
    series = data_dir / "nab" / "data" / "realKnownCause" / "ambient_temperature_system_failure.csv"
    cli = [sys.executable, "-m", "latentwire"]
    bundle = tmp_path / "nab-bundle"
    subprocess.run(
        [
            *cli,
            "train",
            "--data",
            str(series),
            "--window",
            "64",
            "--epochs",
            "20",
            "--out",
            str(bundle),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = json.loads((bundle / "manifest.json").read_text())["training"]
    produced = subprocess.run(
        [
            *cli,
            "produce",
            "--model",
            str(bundle),
            "--data",
            str(series),
            "--topic",
            topic,
            "--bootstrap-servers",
            kafka_bootstrap,
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    produce_report = json.loads(produced.stdout)
    rows = sum(1 for _ in series.open()) - 1
    assert produce_report["records"] == -(-rows // 64)  # every window, the partial tail included
    assert produce_report["wire_bytes"] > 0 and produce_report["compression_ratio"] > 5
    out = tmp_path / "decoded.csv"
    consumed = subprocess.run(
        [
            *cli,
            "consume",
            "--topic",
            topic,
            "--model",
            str(bundle),
            "--bootstrap-servers",
            kafka_bootstrap,
            "--reference",
            str(series),
            "--max-records",
            str(produce_report["records"]),
            "--out",
            str(out),
            "--idle-timeout",
            "30",
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", **_env()},
    )
    report = json.loads(consumed.stdout)
    assert report["records"] == produce_report["records"] and report["failed"] == 0
    assert report["reference"]["matched"] == report["records"]
    assert report["reference"]["rmse"] < 3 * summary["heldback_rmse"] + 1e-6
    assert sum(1 for _ in out.open()) == rows + 1  # header + every original row, tail trimmed


TWEETS = Path("nab") / "data" / "realTweets" / "Twitter_volume_AAPL.csv"


@pytest.fixture(scope="module")
def tweets_bundle(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`latentwire train` on integer counts (tweets per 5 minutes), once for the lattice tests below."""
    bundle = tmp_path_factory.mktemp("tweets") / "bundle"
    subprocess.run(
        [sys.executable, "-m", "latentwire", "train", "--data", str(data_dir / TWEETS), "--window", "128",
         "--epochs", "10", "--out", str(bundle)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return bundle


@pytest.mark.parametrize(("bound", "lossless"), [(0.4, True), (1.0, False)])
def test_bounded_records_on_the_data_lattice_cross_the_broker(  # noqa: PLR0913
    kafka_bootstrap: str, topic: str, data_dir: Path, tweets_bundle: Path, bound: float, lossless: bool
) -> None:
    """Integer counts with E below and at their quantum: the producer codes them on the data's lattice
    (kind 2, or kind 8 where the learned model codes a record smaller), a consumer in
    another process with one BLAS thread decodes them, and every value of every record is within E there
    (exactly the original when E < 0.5)."""
    series = data_dir / TWEETS
    records = _produce_bounded(kafka_bootstrap, topic, tweets_bundle, series, bound)
    heads = _heads(kafka_bootstrap, topic, records)
    assert {h & 0x0F for h in heads} <= {2, 3, 6, 8}, "records not on the lattice (kind 2, 3, 6 or 8)"
    # whole records are framed as wire version 8; only a padded final window keeps its version-7 framing
    assert sum(h >> 4 == 8 for h in heads) >= len(heads) - 1
    _consume_within_bound(kafka_bootstrap, topic, tweets_bundle, series, records, bound, lossless)


def test_learned_records_cross_the_broker_and_hold_the_bound(
    kafka_bootstrap: str, topic: str, tmp_path: Path
) -> None:
    """Two correlated integer series: `latentwire train` (few autoencoder epochs) keeps a learned model, the producer
    writes kind-8 records (a version-3 learned model), with `--lossless` kind-9 ones (framed as wire version 8),
    and a consumer in another process with one BLAS thread decodes every value within the bound (lossless below half
    the quantum)."""
    sys.path.insert(0, str(REPO / "tests" / "golden"))
    from make_bundle_v3 import series

    data = tmp_path / "leads.csv"
    rows = series().reshape(-1, 2)
    np.savetxt(data, rows, fmt="%d", delimiter=",", header="a,b", comments="")
    cli = [sys.executable, "-m", "latentwire"]
    bundle = tmp_path / "leads"
    run = {"check": True, "capture_output": True, "text": True, "timeout": 600}
    subprocess.run(
        [*cli, "train", "--data", str(data), "--window", "32", "--epochs", "5", "--out", str(bundle)], **run
    )
    assert "model" in json.loads((bundle / "manifest.json").read_text())["codec"]["learned"]
    cases = (  # kinds 8 and 9, whole records framed as wire version 8
        (["--error-bound", "0.4"], 0.4, 0x88),
        (["--lossless"], 0.49, 0x89),
        (["--error-bound", "5"], 5.0, 0x88),
    )
    # each case's producer, then its consumer, side by side
    produced = _run_side_by_side(
        [[*cli, "produce", "--model", str(bundle), "--data", str(data), "--topic", f"{topic}-{i}",
          "--bootstrap-servers", kafka_bootstrap, *option, "--json"] for i, (option, _, _) in enumerate(cases)],
        _env(),
    )  # fmt: skip
    checks = []
    for i, ((_, bound, head), out) in enumerate(zip(cases, produced, strict=True)):
        records = json.loads(out)["records"]
        heads = _heads(kafka_bootstrap, f"{topic}-{i}", records)
        assert heads.count(head) > records // 2, f"too few records of head 0x{head:02x}"
        checks.append((f"{topic}-{i}", records, bound, bound < 0.5))
    _consume_within_bounds(kafka_bootstrap, bundle, data, checks)


def test_counts_where_coarser_cross_the_broker_as_kind_11(
    kafka_bootstrap: str, topic: str, tmp_path: Path
) -> None:
    """Sensor counts converted and rounded (the golden fine-lattice series) at a bound of a few quanta: the
    producer writes kind-11 records (wire version 9: counts in the column whose count is coarser than the
    grid), and a consumer in another process with one BLAS thread decodes every value within the bound."""
    sys.path.insert(0, str(REPO / "tests" / "golden"))
    from make_bundle_fine import series

    data = tmp_path / "sensor.csv"
    rows = series()[220:].reshape(-1, 3).astype(np.float64)
    np.savetxt(data, rows, fmt=["%.3f", "%.3f", "%d"], delimiter=",", header="a,b,c", comments="")
    bundle, bound = REPO / "tests" / "golden" / "bundle_counts", 0.05
    records = _produce_bounded(kafka_bootstrap, topic, bundle, data, bound)
    heads = _heads(kafka_bootstrap, topic, records)
    assert heads.count(0x9B) > records // 2, f"too few kind-11 records: {sorted(set(heads))}"
    _consume_within_bound(kafka_bootstrap, topic, bundle, data, records, bound, False)


def test_a_version_4_learned_model_crosses_the_broker_within_the_bound(
    kafka_bootstrap: str, topic: str, tmp_path: Path
) -> None:
    """The golden seasonal bundle (a version-4 learned model: the prediction reads the column's changes one
    period back) on its series: the producer writes learned records (kind 8), and a consumer in another
    process with one BLAS thread decodes every value within the bound."""
    sys.path.insert(0, str(REPO / "tests" / "golden"))
    from make_bundle_season import WINDOW, series

    data = tmp_path / "season.csv"
    rows = series()[240:].reshape(-1, 2).astype(np.float64)
    np.savetxt(data, rows, fmt="%d", delimiter=",", header="a,b", comments="")
    from compressor.bundle import load_bundle
    from compressor.error_bound import ErrorBound

    bundle = REPO / "tests" / "golden" / "bundle_season"
    bound = ErrorBound.resolve(
        load_bundle(bundle), 1e-2, relative=True
    ).value  # a preset: kind 8 in the golden set
    records = _produce_bounded(kafka_bootstrap, topic, bundle, data, bound)
    assert records == len(rows) // WINDOW
    heads = _heads(kafka_bootstrap, topic, records)
    assert heads.count(0x88) > records // 2, f"too few kind-8 records: {sorted(set(heads))}"
    _consume_within_bound(kafka_bootstrap, topic, bundle, data, records, bound, False)


def _produce_bounded(bootstrap: str, topic: str, bundle: Path, data: Path, bound: float) -> int:
    """``latentwire produce --error-bound`` of ``data`` to ``topic`` in another process; the records sent."""
    produced = subprocess.run(
        [sys.executable, "-m", "latentwire", "produce", "--model", str(bundle), "--data", str(data),
         "--topic", topic, "--bootstrap-servers", bootstrap, "--error-bound", str(bound), "--json"],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return json.loads(produced.stdout)["records"]


def _heads(bootstrap: str, topic: str, records: int) -> list[int]:
    """The envelope head byte of each of the ``records`` records on ``topic``, checked to be all it holds."""
    consumer = _consumer(bootstrap, topic)
    try:
        heads = [next(consumer).value[1] for _ in range(records)]
        ends = consumer.end_offsets(list(consumer.assignment()))
    finally:
        consumer.close()
    assert sum(ends.values()) == records, f"{topic} holds {sum(ends.values())} records, {records} produced"
    return heads


def _consume_within_bound(
    bootstrap: str, topic: str, bundle: Path, reference: Path, records: int, bound: float, lossless: bool
) -> None:
    """``latentwire consume --reference`` in another process with one BLAS thread: every record decodes,
    every value within ``bound`` of the reference (exactly equal when ``lossless``)."""
    _consume_within_bounds(bootstrap, bundle, reference, [(topic, records, bound, lossless)])


def _consume_within_bounds(
    bootstrap: str, bundle: Path, reference: Path, checks: list[tuple[str, int, float, bool]]
) -> None:
    """:func:`_consume_within_bound` for each ``(topic, records, bound, lossless)``, the consumer
    processes side by side."""
    outs = _run_side_by_side(
        [[sys.executable, "-m", "latentwire", "consume", "--topic", topic, "--model", str(bundle),
          "--bootstrap-servers", bootstrap, "--reference", str(reference), "--max-records", str(records),
          "--idle-timeout", "30", "--json"] for topic, records, _, _ in checks],
        {**_env(), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    )  # fmt: skip
    for (_, records, bound, lossless), out in zip(checks, outs, strict=True):
        report = json.loads(out)
        ref = report["reference"]
        assert report["records"] == records and report["failed"] == 0
        assert ref["records_checked_against_a_bound"] == records and ref["bound_violations"] == 0
        assert ref["max_abs_error"] <= bound
        assert (ref["max_abs_error"] == 0.0) == lossless


def _run_side_by_side(commands: list[list[str]], env: dict[str, str]) -> list[str]:
    """The stdout of each of ``commands``, run at once, checked to have exited with status 0."""
    outs = []
    for done in run_side_by_side(commands, env):
        assert done.returncode == 0, f"{done.args[3]} exited with {done.returncode}: {done.stderr[-3000:]}"
        outs.append(done.stdout)
    return outs


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
