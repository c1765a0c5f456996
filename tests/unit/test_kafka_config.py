"""The config objects library entry points take (KafkaConfig, BridgeConfig), how the CLI maps flags and
environment variables onto them, and run_bridge against fake Kafka clients."""

from __future__ import annotations

import logging
import os
import socket
import urllib.request
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from compressor.errors import ConfigError
from latentwire.cli import build_parser
from latentwire.cli.bridge_cmd import _report, bridge_config
from latentwire.cli.kafka_options import kafka_config
from streaming.bridge import BridgeService
from streaming.bridge_config import BridgeConfig
from streaming.bridge_loop import Output, TransformResult
from streaming.client_config import KafkaConfig, Secret
from streaming.clients import BULK_READ, PRODUCER_TUNING, make_consumer, make_producer

BRIDGE_ARGV = ["compress-bridge", "--model", "m", "--input-topic", "in", "--output-topic", "out"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("LATENTWIRE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_kafka_defaults_and_settings() -> None:
    config = KafkaConfig()
    assert config.bootstrap_servers == ("127.0.0.1:9092",)
    assert (config.security_protocol, config.sasl_mechanism, config.client_id) == ("PLAINTEXT", None, None)
    assert config.settings() == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "PLAINTEXT",
        "reconnect_backoff_max_ms": 1000,
    }
    assert KafkaConfig(" a:1, b:2 ,").bootstrap_servers == ("a:1", "b:2")
    assert KafkaConfig(["a:1"], client_id="x").settings()["client_id"] == "x"


def test_kafka_config_is_frozen_and_checked() -> None:
    with pytest.raises(AttributeError):
        KafkaConfig().client_id = "x"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="security_protocol"):
        KafkaConfig(security_protocol="TLS")
    with pytest.raises(ConfigError, match="bootstrap_servers"):
        KafkaConfig(" , ")
    with pytest.raises(ConfigError, match="reconnect_backoff_max_ms"):
        KafkaConfig(reconnect_backoff_max_ms=0)


def test_unknown_keys_are_refused() -> None:
    config = KafkaConfig.from_mapping({"bootstrap_servers": "h:1", "ssl_cafile": "ca.pem"})
    assert config == KafkaConfig("h:1", ssl_cafile="ca.pem")
    with pytest.raises(ConfigError, match="unknown KafkaConfig setting.*bootstrap_server\\b"):
        KafkaConfig.from_mapping({"bootstrap_server": "h:1"})
    bridge = BridgeConfig.from_mapping(
        {"bridge": "compress", "input_topic": "a", "output_topic": "b", "kafka": {"bootstrap_servers": "h:1"}}
    )
    assert bridge.kafka.bootstrap_servers == ("h:1",) and bridge.exactly_once
    with pytest.raises(ConfigError, match="linger_ms"):
        BridgeConfig.from_mapping(
            {"bridge": "compress", "input_topic": "a", "output_topic": "b", "linger_ms": 5}
        )
    with pytest.raises(ConfigError, match="sasl_password"):
        BridgeConfig.from_mapping(
            {"bridge": "c", "input_topic": "a", "output_topic": "b", "kafka": {"sasl_password": "x"}}
        )


def test_secret_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    config = KafkaConfig(security_protocol="SASL_SSL", sasl_plain_username="u", sasl_plain_password="pw-Zq81")
    assert isinstance(config.sasl_plain_password, Secret) and config.sasl_mechanism == "PLAIN"
    bridge = BridgeConfig("compress", "a", "b", kafka=config)
    for text in (repr(config), str(config), repr(bridge), str(bridge), f"{config.sasl_plain_password}"):
        assert "pw-Zq81" not in text
    assert "********" in repr(config)
    settings = config.settings(check=False)  # the only place the plain value comes out
    assert settings["sasl_plain_password"] == "pw-Zq81" and settings["sasl_mechanism"] == "PLAIN"
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        config.settings(check=False)  # registers the new handler too
        record = logging.LogRecord("kafka", logging.DEBUG, __file__, 1, "config %s", (settings,), None)
        assert all(f.filter(record) for f in handler.filters)
        assert "pw-Zq81" not in record.getMessage() and "********" in record.getMessage()
    finally:
        logging.getLogger().removeHandler(handler)
    assert KafkaConfig(sasl_plain_password="").sasl_plain_password is None


def test_flags_and_environment_map_onto_kafka_config(clean_env: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(BRIDGE_ARGV)
    assert kafka_config(args) == KafkaConfig(client_id="latentwire")  # the CLI names its clients
    clean_env.setenv("LATENTWIRE_BOOTSTRAP_SERVERS", "e:1,e:2")
    clean_env.setenv("LATENTWIRE_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    clean_env.setenv("LATENTWIRE_SASL_PLAIN_USERNAME", "env-user")
    clean_env.setenv("LATENTWIRE_SASL_PLAIN_PASSWORD", "env-Pw-3")
    clean_env.setenv("LATENTWIRE_RECONNECT_BACKOFF_MAX_MS", "250")
    args = build_parser().parse_args([*BRIDGE_ARGV, "--sasl-plain-username", "flag-user"])
    config = kafka_config(args)
    assert config.bootstrap_servers == ("e:1", "e:2") and config.security_protocol == "SASL_PLAINTEXT"
    assert config.sasl_plain_username == "flag-user"  # a flag wins over the environment
    assert config.sasl_plain_password == Secret("env-Pw-3") and config.reconnect_backoff_max_ms == 250
    assert "env-Pw-3" not in repr(vars(args)) + repr(config)


def test_flags_and_environment_map_onto_bridge_config(clean_env: pytest.MonkeyPatch) -> None:
    config = bridge_config(build_parser().parse_args(BRIDGE_ARGV), "compress")
    defaults = BridgeConfig("compress", "in", "out", kafka=KafkaConfig(client_id="latentwire"))
    assert config == defaults
    assert (config.group, config.dead_letters) == ("latentwire-compress-in", "in.dlq")
    assert (
        config.resolved_transactional_id() == f"latentwire-compress-in-{socket.gethostname()}-{os.getpid()}"
    )
    clean_env.setenv("LATENTWIRE_MAX_POLL_RECORDS", "64")
    clean_env.setenv("LATENTWIRE_AT_LEAST_ONCE", "yes")
    clean_env.setenv("LATENTWIRE_COMMIT_INTERVAL_MS", "250")
    args = build_parser().parse_args(
        [*BRIDGE_ARGV, "--group-id", "g", "--dlq-topic", "d", "--idle-timeout", "2.5", "--metrics-port", "0"]
    )
    config = bridge_config(args, "compress")
    assert (config.max_poll_records, config.exactly_once, config.resolved_transactional_id()) == (
        64,
        False,
        None,
    )
    assert config.commit_interval_ms == 250
    assert (config.group, config.dead_letters, config.idle_timeout, config.metrics_port) == ("g", "d", 2.5, 0)


def test_cli_defaults_come_from_the_config_objects(clean_env: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["produce", "--model", "m", "--topic", "t", "--data", "d"])
    assert args.linger_ms == PRODUCER_TUNING["linger_ms"]
    bridge = build_parser().parse_args(BRIDGE_ARGV)
    assert (
        bridge.commit_interval_ms,
        bridge.max_poll_records,
        bridge.session_timeout_ms,
        bridge.metrics_port,
        bridge.metrics_host,
    ) == (
        BridgeConfig.commit_interval_ms,
        BridgeConfig.max_poll_records,
        BridgeConfig.session_timeout_ms,
        BridgeConfig.metrics_port,
        BridgeConfig.metrics_host,
    )


class _Client:
    """Records the settings a kafka-python client was made with."""

    made: list[tuple[tuple, dict]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _Client.made.append((args, kwargs))


def test_make_producer_and_consumer_apply_tuning(monkeypatch: pytest.MonkeyPatch) -> None:
    import kafka

    monkeypatch.setattr(kafka, "KafkaProducer", _Client)
    monkeypatch.setattr(kafka, "KafkaConsumer", _Client)
    _Client.made.clear()
    make_producer(KafkaConfig("h:1"))
    make_producer(KafkaConfig("h:1"), linger_ms=50, acks="all")
    make_consumer(KafkaConfig("h:1"), "t1", "t2", group_id="g", **BULK_READ)
    (_, first), (_, second), (topics, consumer) = _Client.made
    assert (
        first["linger_ms"] == 5
        and first["batch_size"] == 256 * 1024
        and first["bootstrap_servers"] == ["h:1"]
    )
    assert second["linger_ms"] == 50 and second["acks"] == "all" and second["batch_size"] == 256 * 1024
    assert topics == ("t1", "t2") and consumer["group_id"] == "g" and consumer["max_poll_records"] == 4096
    assert "linger_ms" not in consumer


def _message(offset: int, value: bytes) -> SimpleNamespace:
    """What a KafkaConsumer hands out, as far as the bridge loop reads it."""
    return SimpleNamespace(
        topic="in", partition=0, offset=offset, key=b"k", value=value, headers=[], timestamp=1
    )


class _FakeConsumer:
    def __init__(self, messages: list[SimpleNamespace]) -> None:
        self.batches = [messages]
        self.closed = False

    def poll(self, timeout_ms: int) -> dict:
        return {("in", 0): self.batches.pop()} if self.batches else {}

    def subscribe(self, topics: list[str], listener: Any = None) -> None:
        self.listener = listener

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}

    def group_metadata(self) -> object:
        return object()

    def close(self) -> None:
        self.closed = True


class _FakeProducer:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.sent: list[tuple[str, bytes | None]] = []

    def __getattr__(self, name: str) -> Any:
        if name in (
            "init_transactions",
            "begin_transaction",
            "send_offsets_to_transaction",
            "commit_transaction",
            "abort_transaction",
            "flush",
            "close",
        ):
            return lambda *a, **k: self.calls.append(name)
        raise AttributeError(name)

    def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def send(self, topic: str, value: bytes | None = None, **kw: Any) -> SimpleNamespace:
        self.sent.append((topic, value))
        return SimpleNamespace(get=lambda timeout: None)  # a send already acknowledged


def test_bridge_service_runs_the_loop_with_its_own_clients(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    import streaming.bridge as bridge_module

    messages = [_message(i, bytes([i])) for i in range(3)]
    consumer, producer = _FakeConsumer(messages), _FakeProducer()
    made: dict[str, Any] = {}

    def fake_consumer(config: KafkaConfig, *topics: str, **kw: Any) -> _FakeConsumer:
        made["consumer"] = (topics, kw)
        return consumer

    def fake_producer(config: KafkaConfig, **kw: Any) -> _FakeProducer:
        made["producer"] = kw
        return producer

    monkeypatch.setattr(bridge_module, "make_consumer", fake_consumer)
    monkeypatch.setattr(bridge_module, "make_producer", fake_producer)
    monkeypatch.setattr(bridge_module, "require_topic_access", lambda *a: None)  # no broker to ask here
    config = BridgeConfig(
        "compress", "in", "out", transactional_id="tid-1", idle_timeout=0.05, metrics_port=0
    )
    registry = CollectorRegistry()
    with BridgeService(config, registry=registry) as service:
        with urllib.request.urlopen(f"http://127.0.0.1:{service.port}/healthz", timeout=5) as resp:  # noqa: S310
            assert resp.status == 200  # served before the transform exists
        summary = service.run(
            lambda batch: TransformResult([Output(m.value * 2, []) for m in batch]), stop=False
        )
    assert summary.error is None and summary.processed == 3 and summary.transactional_id == "tid-1"
    assert producer.sent == [("out", bytes([i]) * 2) for i in range(3)]
    assert producer.calls[:2] == ["init_transactions", "begin_transaction"] and producer.calls[-1] == "close"
    assert "commit_transaction" in producer.calls and consumer.closed
    topics, kw = made["consumer"]
    assert (
        topics == ("in",)
        and kw["group_id"] == "latentwire-compress-in"
        and kw["isolation_level"] == "read_committed"
    )
    assert kw["heartbeat_interval_ms"] == 10000 // 3 and not kw["enable_auto_commit"]
    assert made["producer"] == {
        "acks": "all",
        "linger_ms": bridge_module.BATCH_LINGER_MS,
        "transactional_id": "tid-1",
    }
    assert registry.get_sample_value("latentwire_bridge_ready", {"bridge": "compress", "topic": "in"}) == 0
    assert _report(summary, model_id="m") == 0
    assert '"processed": 3' in capsys.readouterr().out


def test_a_failing_loop_is_reported_with_exit_status_1(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    from kafka.errors import ProducerFencedError

    import streaming.bridge as bridge_module

    consumer = _FakeConsumer([_message(0, b"x")])
    producer = _FakeProducer()
    monkeypatch.setattr(bridge_module, "make_consumer", lambda *a, **k: consumer)
    monkeypatch.setattr(bridge_module, "make_producer", lambda *a, **k: producer)
    monkeypatch.setattr(bridge_module, "require_topic_access", lambda *a: None)  # no broker to ask here

    def fenced(batch: list) -> TransformResult:
        raise ProducerFencedError("another copy took over")

    config = BridgeConfig("decompress", "in", "out", exactly_once=False, idle_timeout=1.0, metrics_port=0)
    with BridgeService(config, registry=CollectorRegistry()) as service:
        summary = service.run(fenced, stop=False)
    assert isinstance(summary.error, ProducerFencedError) and summary.aborted_batches == 1
    assert summary.transactional_id is None and consumer.closed and producer.calls[-1] == "close"
    assert _report(summary) == 1
    assert '"aborted_batches": 1' in capsys.readouterr().out


def test_the_bridge_loop_polls_again_after_a_retriable_poll_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from kafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

    import streaming.bridge_loop as bridge_loop
    from streaming.bridge_loop import BridgeLoop
    from streaming.metrics import BridgeMetrics

    monkeypatch.setattr(bridge_loop, "POLL_RETRY_SECONDS", 0.0)

    class Flaky(_FakeConsumer):
        """Refused twice (both nodes it needs down), then hands out its batch."""

        def __init__(self, messages: list[SimpleNamespace], error: Exception) -> None:
            super().__init__(messages)
            self.error, self.failures = error, 2

        def poll(self, timeout_ms: int) -> dict:
            if self.failures:
                self.failures -= 1
                raise self.error
            return super().poll(timeout_ms)

    def loop(consumer: _FakeConsumer, producer: _FakeProducer) -> BridgeLoop:
        return BridgeLoop(
            consumer, producer, lambda msgs: TransformResult([Output(m.value, []) for m in msgs]),
            bridge="compress", input_topic="in", output_topic="out", dead_letter_topic="in.dlq",
            metrics=BridgeMetrics.get(CollectorRegistry()),
        )  # fmt: skip

    consumer = Flaky([_message(i, bytes([i])) for i in range(3)], KafkaConnectionError("refused"))
    producer = _FakeProducer()
    bridge = loop(consumer, producer)
    bridge.run(False, idle_timeout=0.2, poll_timeout_ms=1)
    assert consumer.failures == 0 and bridge.processed == 3
    assert producer.sent == [("out", bytes([i])) for i in range(3)]
    assert producer.calls == [
        "begin_transaction",
        "flush",
        "send_offsets_to_transaction",
        "commit_transaction",
    ]
    refused = Flaky([_message(0, b"x")], TopicAuthorizationFailedError("in"))
    with pytest.raises(TopicAuthorizationFailedError):  # not retriable: the loop stops and says why
        loop(refused, _FakeProducer()).run(False, idle_timeout=0.2, poll_timeout_ms=1)


def test_a_failed_send_aborts_the_transaction_instead_of_committing_its_offsets() -> None:
    """kafka-python can fail a transactional batch (delivery timeout, bumped epoch) and still commit the
    transaction; the loop checks every send first, aborts, and reads the batch again."""
    from kafka.errors import KafkaTimeoutError

    from streaming.bridge_loop import BridgeLoop
    from streaming.metrics import BridgeMetrics

    class Expiring(_FakeProducer):
        def __init__(self) -> None:
            super().__init__()
            self.fail_next = True

        def send(self, topic: str, value: bytes | None = None, **kw: Any) -> SimpleNamespace:
            super().send(topic, value, **kw)
            if not self.fail_next:
                return SimpleNamespace(get=lambda timeout: None)
            self.fail_next = False

            def get(timeout: float) -> None:
                raise KafkaTimeoutError("Expiring 1 record(s): 120000 ms has passed since batch creation")

            return SimpleNamespace(get=get)

    class Rewinding(_FakeConsumer):
        def __init__(self, messages: list[SimpleNamespace]) -> None:
            super().__init__(messages)
            self.seeks: list[tuple[Any, int]] = []

        def assignment(self) -> set[Any]:
            from kafka.structs import TopicPartition

            return {TopicPartition("in", 0)}

        def seek(self, tp: Any, offset: int) -> None:
            self.seeks.append((tp, offset))

    consumer, producer = Rewinding([_message(i, bytes([i])) for i in range(4, 7)]), Expiring()
    bridge = BridgeLoop(
        consumer, producer, lambda msgs: TransformResult([Output(m.value, []) for m in msgs]),
        bridge="compress", input_topic="in", output_topic="out", dead_letter_topic="in.dlq",
        metrics=BridgeMetrics.get(CollectorRegistry()),
    )  # fmt: skip
    assert bridge.process(consumer.batches.pop()) is False
    assert producer.calls == ["begin_transaction", "flush", "abort_transaction"]  # offsets never sent
    assert [offset for _, offset in consumer.seeks] == [4] and bridge.aborted == 1


def test_an_unusable_producer_is_replaced_in_place_and_the_batch_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transaction that can neither commit nor abort (kafka-python's state after a request timed out in
    an outage of every node it knew) used to end the bridge; the service now makes a new producer with the
    same transactional id, counts it, and the batch is read again and committed by the new producer only."""
    from kafka.errors import IllegalStateError, KafkaTimeoutError
    from kafka.structs import TopicPartition

    import streaming.bridge as bridge_module

    class Unusable(_FakeProducer):
        def commit_transaction(self) -> None:
            self.calls.append("commit_transaction")
            raise KafkaTimeoutError("Timeout expired while awaiting EndTxn")

        def abort_transaction(self) -> None:
            self.calls.append("abort_transaction")
            raise IllegalStateError("the producer is in a fatal state: it cannot abort")

    class Rereading(_FakeConsumer):
        """Hands the batch out again after a seek to its first offset."""

        def __init__(self, messages: list[SimpleNamespace]) -> None:
            super().__init__(messages)
            self.all, self.seeks = list(messages), []

        def assignment(self) -> set[Any]:
            return {TopicPartition("in", 0)}

        def poll(self, timeout_ms: int) -> dict:
            return {TopicPartition("in", 0): self.batches.pop()} if self.batches else {}

        def seek(self, tp: Any, offset: int) -> None:
            self.seeks.append(offset)
            self.batches.append([m for m in self.all if m.offset >= offset])

        def committed(self, tp: Any) -> int | None:
            return None  # nothing committed yet

    consumer = Rereading([_message(i, bytes([i])) for i in range(5, 8)])
    producers = [Unusable(), _FakeProducer()]
    made: list[_FakeProducer] = []

    def make(*a: Any, **k: Any) -> _FakeProducer:
        made.append(producers[len(made)])
        return made[-1]

    monkeypatch.setattr(bridge_module, "make_consumer", lambda *a, **k: consumer)
    monkeypatch.setattr(bridge_module, "make_producer", make)
    monkeypatch.setattr(bridge_module, "require_topic_access", lambda *a: None)  # no broker to ask here
    registry = CollectorRegistry()
    config = BridgeConfig("compress", "in", "out", idle_timeout=0.3, metrics_port=0)
    with BridgeService(config, registry=registry) as service:
        summary = service.run(lambda msgs: TransformResult([Output(m.value, []) for m in msgs]), stop=False)
    old, new = producers
    assert summary.error is None and summary.aborted_batches == 1 and summary.processed == 3
    assert made == [old, new] and consumer.seeks == [5]
    assert old.calls[-3:] == ["commit_transaction", "abort_transaction", "close"]
    assert new.calls == [
        "init_transactions", "begin_transaction", "flush", "send_offsets_to_transaction",
        "commit_transaction", "close",
    ]  # fmt: skip
    assert new.sent == [("out", bytes([i])) for i in range(5, 8)]
    replaced = registry.get_sample_value(
        "latentwire_bridge_producer_replacements_total", {"bridge": "compress", "topic": "in"}
    )
    assert replaced == 1


def test_records_after_an_aborted_batch_wait_for_the_committed_offset() -> None:
    """A batch aborted while the consumer had lost its group membership (after an outage) could not be
    sought back, and the rejoined consumer handed out the records after it: the loop drops those, seeks
    to the committed offset and processes the aborted records first, so no commit skips them."""
    from kafka.errors import CommitFailedError
    from kafka.structs import TopicPartition

    from streaming.bridge_loop import BridgeLoop
    from streaming.metrics import BridgeMetrics

    tp = TopicPartition("in", 0)
    records = [_message(i, bytes([i])) for i in range(10, 16)]

    class Rejoining(_FakeConsumer):
        """Loses its assignment when the first batch's offsets fail; afterwards hands out what its
        position says."""

        def __init__(self) -> None:
            super().__init__([])
            self.position, self.member, self.seeks = 10, True, []
            self.batches = []

        def assignment(self) -> set[Any]:
            return {tp} if self.member else set()

        def poll(self, timeout_ms: int) -> dict:
            self.member = True  # rejoined
            batch = [m for m in records if self.position <= m.offset < self.position + 3]
            if batch:
                self.position = batch[-1].offset + 1
            return {tp: batch} if batch else {}

        def seek(self, tp_: Any, offset: int) -> None:
            self.seeks.append(offset)
            self.position = offset

        def committed(self, tp_: Any) -> int:
            return producer.committed_offset

    class FailingOnce(_FakeProducer):
        committed_offset = 10

        def __init__(self) -> None:
            super().__init__()
            self.failed = False
            self.pending = 10

        def send_offsets_to_transaction(self, offsets: dict, group: object) -> None:
            if not self.failed:
                self.failed = True
                consumer.member = False
                raise CommitFailedError("group metadata mismatch: UnknownMemberIdError")
            self.pending = offsets[tp].offset

        def commit_transaction(self) -> None:
            self.committed_offset = self.pending

    consumer, producer = Rejoining(), FailingOnce()
    bridge = BridgeLoop(
        consumer, producer, lambda msgs: TransformResult([Output(m.value, []) for m in msgs]),
        bridge="compress", input_topic="in", output_topic="out", dead_letter_topic="in.dlq",
        metrics=BridgeMetrics.get(CollectorRegistry()),
    )  # fmt: skip
    bridge.run(False, idle_timeout=0.3, poll_timeout_ms=1)
    assert consumer.seeks == [10], "records 13-15 were taken while 10-12 were not committed"
    assert producer.committed_offset == 16 and bridge.processed == 6 and bridge.aborted == 1
    committed = [value for topic, value in producer.sent if topic == "out"]
    assert committed[-6:] == [bytes([i]) for i in range(10, 16)]  # the aborted records, then the rest


def test_a_transaction_begins_without_offsets_left_by_an_aborted_one() -> None:
    """kafka-python keeps the offsets of a refused TxnOffsetCommit pending after the abort and sends them
    with the next transaction's offsets; the loop drops them before each new transaction."""
    from kafka.producer.transaction_manager import TransactionManager
    from kafka.structs import OffsetAndMetadata, TopicPartition

    from streaming.transaction_start import begin_transaction

    manager = TransactionManager(transactional_id="t", transaction_timeout_ms=60_000)
    assert manager._pending_txn_offset_commits == {}  # the attribute the workaround relies on exists
    stale = {TopicPartition("in", 0): OffsetAndMetadata(1950, "", -1)}
    manager._pending_txn_offset_commits.update(stale)  # what a refused TxnOffsetCommit leaves behind
    producer = _FakeProducer()
    producer._transaction_manager = manager  # type: ignore[attr-defined]
    begin_transaction(producer)
    assert manager._pending_txn_offset_commits == {} and producer.calls == ["begin_transaction"]
    begin_transaction(_FakeProducer())  # a producer without a transaction manager just begins


def test_a_batch_slower_than_the_idle_timeout_still_sends_its_windows() -> None:
    """Idleness counts from the end of a batch: windows a slow batch opened are sent when due, before the
    loop stops."""
    import time

    from streaming.bridge_loop import BridgeLoop, Produce, Windowed
    from streaming.metrics import BridgeMetrics

    class Consumer(_FakeConsumer):
        def committed(self, tp: Any, metadata: bool = False) -> None:
            return None

    class Holding:
        """Holds every event in one window, due 0.1 s after the batch; coding takes 0.3 s."""

        poll_timeout_ms = 10

        def __init__(self) -> None:
            self.held: list[Any] = []
            self.since = 0.0

        def known(self, tp: Any) -> bool:
            return True

        def assign(self, tp: Any, committed: Any, first_offset: int) -> None:
            pass

        def revoke(self, tps: Any) -> None:
            pass

        def rewind(self) -> dict:
            return {}

        def due(self) -> bool:
            return bool(self.held) and time.monotonic() - self.since >= 0.1

        def __call__(self, batch: list[Any]) -> TransformResult:
            if batch:
                time.sleep(0.3)
                self.held.extend(batch)
                self.since = time.monotonic()
                return TransformResult([None] * len(batch))
            out = [Produce(b"".join(m.value for m in self.held), b"k", 1, [], 0)]
            self.held = []
            return TransformResult([], produce=out, offsets={})

    transform = Holding()
    assert isinstance(transform, Windowed)
    producer = _FakeProducer()
    loop = BridgeLoop(
        Consumer([_message(i, bytes([i])) for i in range(3)]),
        producer,
        transform,
        bridge="compress",
        input_topic="in",
        output_topic="out",
        dead_letter_topic="in.dlq",
        metrics=BridgeMetrics.get(CollectorRegistry()),
    )
    loop.run(False, idle_timeout=0.2)
    assert producer.sent == [("out", bytes([0, 1, 2]))]
