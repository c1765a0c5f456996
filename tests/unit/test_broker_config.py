"""Pure tests of the local broker runner: configuration, properties, option parsing, caching logic."""

from __future__ import annotations

import argparse
import hashlib
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from compressor.errors import BrokerError, ConfigError
from latentwire.cli import broker_cmd
from streaming import broker as broker_mod
from streaming.broker import BrokerConfig, LocalBroker, broker_reachable, find_pom, kafka_version


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in (
        "LATENTWIRE_PORT",
        "LATENTWIRE_CONTROLLER_PORT",
        "LATENTWIRE_DIR",
        "LATENTWIRE_HEAP",
        "LATENTWIRE_TIMEOUT",
        "LATENTWIRE_BROKER_HEAP",
        "LATENTWIRE_KAFKA_POM",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LATENTWIRE_CACHE_DIR", str(tmp_path / "cache"))


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``latentwire <argv>``; uses the full parser when every command module exists."""
    try:
        from latentwire.cli import build_parser

        parser = build_parser()
    except ImportError:  # sibling command modules not written yet: test ours on its own
        parser = argparse.ArgumentParser(prog="latentwire")
        broker_cmd.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def read_properties(text: str) -> dict[str, str]:
    entries = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    return {key: value for key, value in entries}


# ------------------------------------------------------------------------------------------ config


def test_defaults(tmp_path: Path) -> None:
    config = BrokerConfig()
    assert config.port == 9092
    assert config.controller_port == 9093
    assert config.dir == tmp_path / "cache" / "broker-9092"
    assert config.heap == "512m"
    assert config.bootstrap_servers == "127.0.0.1:9092"


def test_properties_rendering(tmp_path: Path) -> None:
    config = BrokerConfig(port=19092, controller_port=19999, dir=tmp_path / "b", message_max_bytes=2_000_000)
    props = read_properties(config.render_properties())
    assert props == config.properties()
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19999"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19999"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["log.dirs"] == str(tmp_path / "b" / "data")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "true"
    assert props["message.max.bytes"] == "2000000"
    # the storage is formatted with --standalone (dynamic quorum): static voters must not be set
    assert "controller.quorum.voters" not in props


def test_message_max_bytes_default_is_kafkas() -> None:
    assert BrokerConfig().properties()["message.max.bytes"] == "1048588"


def test_relative_dir_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert BrokerConfig(dir=Path("rel")).dir == tmp_path / "rel"


def test_heap_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTWIRE_BROKER_HEAP", "1g")
    assert BrokerConfig().heap == "1g"
    assert BrokerConfig(heap="256m").heap == "256m"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"port": 0},
        {"port": 70000},
        {"port": 65535},  # default controller port would be 65536
        {"port": 9092, "controller_port": 9092},
        {"heap": "lots"},
        {"heap": "512 m"},
        {"message_max_bytes": 0},
    ],
)
def test_invalid_config(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        BrokerConfig(**kwargs)  # type: ignore[arg-type]


def test_config_is_frozen() -> None:
    config = BrokerConfig()
    with pytest.raises(AttributeError):
        config.port = 1  # type: ignore[misc]


# -------------------------------------------------------------------------------------------- CLI


def test_cli_defaults() -> None:
    args = parse(["broker", "status"])
    assert args.command == "broker"
    assert args.action == "status"
    assert (args.port, args.controller_port, args.dir) == (9092, None, None)
    assert (args.heap, args.timeout) == (None, None)
    assert args.func is broker_cmd.run


def test_cli_options_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LATENTWIRE_PORT", "19092")
    monkeypatch.setenv("LATENTWIRE_CONTROLLER_PORT", "19500")
    monkeypatch.setenv("LATENTWIRE_DIR", str(tmp_path / "envdir"))
    monkeypatch.setenv("LATENTWIRE_HEAP", "768m")
    monkeypatch.setenv("LATENTWIRE_TIMEOUT", "12.5")
    args = parse(["broker", "start"])
    assert args.port == 19092
    assert args.controller_port == 19500
    assert args.dir == tmp_path / "envdir"
    assert args.heap == "768m"
    assert args.timeout == 12.5
    config = broker_cmd.config_from_args(args)
    assert config == BrokerConfig(port=19092, controller_port=19500, dir=tmp_path / "envdir", heap="768m")


def test_cli_flag_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTWIRE_PORT", "19092")
    args = parse(["broker", "stop", "--port", "29092"])
    assert args.port == 29092
    assert broker_cmd.config_from_args(args).controller_port == 29093


def test_cli_bad_env_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTWIRE_PORT", "not-a-port")
    with pytest.raises(SystemExit):
        parse(["broker", "status"])


def test_cli_unknown_action() -> None:
    with pytest.raises(SystemExit):
        parse(["broker", "restart"])


def test_cli_help_explains(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(["broker", "--help"])
    out = capsys.readouterr().out
    for phrase in ("KRaft", "127.0.0.1", "Maven Central", "deploy/kafka/pom.xml", "LATENTWIRE_PORT"):
        assert phrase in out


def test_cli_status_when_stopped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["broker", "status", "--dir", str(tmp_path / "b"), "--port", "19092"])
    assert args.func(args) == broker_cmd.EXIT_STOPPED
    out = capsys.readouterr().out
    assert "stopped" in out
    assert "127.0.0.1:19092" in out
    assert str(tmp_path / "b" / "broker.log") in out


# --------------------------------------------------------------------------------- status, probing


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_status_ignores_stale_pid_file(tmp_path: Path) -> None:
    broker = LocalBroker(BrokerConfig(port=19092, dir=tmp_path))
    broker.pid_path.write_text(f"{_dead_pid()}\n")
    status = broker.status()
    assert not status.running
    assert status.pid is None
    assert status.log_path == tmp_path / "broker.log"
    broker.stop()  # nothing to stop: just clears the stale pid file
    assert not broker.pid_path.exists()


def test_status_ignores_pid_of_unrelated_process(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        broker = LocalBroker(BrokerConfig(port=19092, dir=tmp_path))
        broker.pid_path.write_text(f"{proc.pid}\n")
        if Path(f"/proc/{proc.pid}/cmdline").exists():
            assert not broker.status().running
    finally:
        proc.kill()
        proc.wait()


def test_broker_reachable_on_closed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert broker_reachable(f"127.0.0.1:{port}", timeout=1.0) is False


# ------------------------------------------------------------------------------------ pom and jars


def test_pom_found_in_source_tree() -> None:
    pom = find_pom()
    assert pom.name == "pom.xml"
    assert kafka_version(pom) == "4.1.1"


def test_pom_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_bytes(find_pom().read_bytes())
    monkeypatch.setenv("LATENTWIRE_KAFKA_POM", str(pom))
    assert find_pom() == pom
    monkeypatch.setenv("LATENTWIRE_KAFKA_POM", str(tmp_path / "missing.xml"))
    with pytest.raises(BrokerError, match="LATENTWIRE_KAFKA_POM"):
        find_pom()


def test_missing_pom_names_the_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(broker_mod, "__file__", str(tmp_path / "site-packages" / "streaming" / "broker.py"))
    with pytest.raises(BrokerError, match="LATENTWIRE_KAFKA_POM"):
        find_pom()


def test_resolve_jars_without_maven(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(broker_mod.shutil, "which", lambda name: None)
    with pytest.raises(BrokerError, match="mvn"):
        broker_mod.resolve_jars(tmp_path)


def test_resolve_jars_uses_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    base = tmp_path / "kafka-4.1.1"
    (base / "jars").mkdir(parents=True)
    (base / "jars" / "kafka_2.13-4.1.1.jar").write_bytes(b"")
    (base / "jars.ok").write_text(hashlib.sha256(find_pom().read_bytes()).hexdigest() + "\n")

    def no_maven(*args: object, **kwargs: object) -> None:
        raise AssertionError("maven must not run when the cache is complete")

    monkeypatch.setattr(broker_mod.subprocess, "run", no_maven)
    assert broker_mod.resolve_jars(tmp_path) == base / "jars"


def test_resolve_jars_reruns_after_pom_change(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    base = tmp_path / "kafka-4.1.1"
    (base / "jars").mkdir(parents=True)
    (base / "jars" / "old.jar").write_bytes(b"")
    (base / "jars.ok").write_text("stale-digest\n")
    monkeypatch.setattr(broker_mod.shutil, "which", lambda name: None)
    with pytest.raises(BrokerError, match="mvn"):
        broker_mod.resolve_jars(tmp_path)


# ------------------------------------------------------------------------------------------ secure


def test_secure_config_needs_a_password_and_hides_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LATENTWIRE_SASL_PLAIN_PASSWORD"):
        BrokerConfig(port=19092, dir=tmp_path, secure=True)
    config = BrokerConfig(port=19092, dir=tmp_path, secure=True, user="alice", password="pw-hidden-1")
    assert "pw-hidden-1" not in repr(config) and "pw-hidden-1" not in str(config)
    props = config.properties()
    assert props["listeners"] == "SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == "PLAIN,SCRAM-SHA-512"
    assert 'user_alice="pw-hidden-1"' in props["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["super.users"] == "User:alice"
    assert props["ssl.truststore.location"] == str(tmp_path / "tls" / "ca.pem")
    client = config.client_config()
    assert client["security_protocol"] == "SASL_SSL" and client["sasl_plain_password"] == "pw-hidden-1"
    assert "sasl.enabled.mechanisms" not in BrokerConfig(port=19092, dir=tmp_path).properties()


@pytest.mark.parametrize("password", ['a"b', "a\\b", "a\nb", "a,b", "a]b"])
def test_secure_password_that_would_break_the_jaas_line_is_refused(tmp_path: Path, password: str) -> None:
    with pytest.raises(ConfigError, match="may not contain"):
        BrokerConfig(dir=tmp_path, secure=True, password=password)


def test_cli_secure_reads_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTWIRE_SASL_PLAIN_PASSWORD", "pw-from-env-2")
    monkeypatch.setenv("LATENTWIRE_SASL_PLAIN_USERNAME", "bob")
    args = parse(["broker", "start", "--secure"])
    assert "pw-from-env-2" not in repr(vars(args))
    config = broker_cmd.config_from_args(args)
    assert config.secure and config.user == "bob" and config.password == "pw-from-env-2"
    assert not broker_cmd.config_from_args(parse(["broker", "stop", "--secure"])).secure


def test_secure_users_log_in_with_plain_and_scram_and_only_the_first_is_super(tmp_path: Path) -> None:
    config = BrokerConfig(
        dir=tmp_path,
        secure=True,
        user="admin",
        password="pw-a",
        users=(("bridge", "pw-b"), ("reader", "pw-r")),
    )
    assert "pw-b" not in repr(config)
    jaas = config.properties()["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert 'user_bridge="pw-b"' in jaas and 'user_reader="pw-r"' in jaas
    assert config.properties()["super.users"] == "User:admin"
    assert config.scram_credentials() == [
        "SCRAM-SHA-512=[name=admin,password=pw-a]",
        "SCRAM-SHA-512=[name=bridge,password=pw-b]",
        "SCRAM-SHA-512=[name=reader,password=pw-r]",
    ]
    assert BrokerConfig(dir=tmp_path).scram_credentials() == []
    with pytest.raises(ConfigError, match="distinct"):
        BrokerConfig(dir=tmp_path, secure=True, user="a", password="p", users=(("a", "q"),))
    with pytest.raises(ConfigError, match="user name"):
        BrokerConfig(dir=tmp_path, secure=True, password="p", users=(("bad name", "q"),))


def test_cluster_nodes_share_a_quorum_and_replicate(tmp_path: Path) -> None:
    from streaming.cluster import ClusterConfig

    cluster = ClusterConfig(port=19092, dir=tmp_path)
    assert cluster.bootstrap_servers == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    nodes = cluster.node_configs()
    assert sorted(nodes) == [1, 2, 3]
    for node, config in nodes.items():
        props = config.properties()
        assert props["node.id"] == str(node)
        assert props["controller.quorum.voters"] == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
        assert "controller.quorum.bootstrap.servers" not in props
        assert props["offsets.topic.replication.factor"] == "3"
        assert props["transaction.state.log.replication.factor"] == "3"
        assert props["transaction.state.log.min.isr"] == "2"
        assert props["min.insync.replicas"] == "2" and props["default.replication.factor"] == "3"
        assert props["offsets.topic.num.partitions"] == props["transaction.state.log.num.partitions"] == "10"
        assert (props["broker.session.timeout.ms"], props["broker.heartbeat.interval.ms"]) == ("3000", "750")
        assert props["controller.quorum.fetch.timeout.ms"] == "1000"
        assert config.dir == tmp_path / f"node-{node}"
        assert config.tls_dir == tmp_path / "tls"
    single = BrokerConfig(dir=tmp_path).properties()
    assert single["offsets.topic.replication.factor"] == "1" and "controller.quorum.voters" not in single
    assert "broker.session.timeout.ms" not in single and "offsets.topic.num.partitions" not in single
    with pytest.raises(ConfigError, match="session_timeout_ms"):
        ClusterConfig(port=19092, dir=tmp_path, session_timeout_ms=10)
    two = ClusterConfig(nodes=2, port=19092, dir=tmp_path)
    assert (two.replication, two.min_insync) == (2, 1)
    with pytest.raises(ConfigError, match="differ"):
        ClusterConfig(nodes=2, ports=((1000, 1001), (1001, 1002)), dir=tmp_path)
    with pytest.raises(ConfigError, match="not one of the voters"):
        BrokerConfig(dir=tmp_path, node_id=4, voters=((1, 9093),))


def test_cli_nodes_and_users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streaming.cluster import ClusterConfig

    users = tmp_path / "users"
    users.write_text("# name password\nbridge pw-b1\n\nreader pw-r1\n")
    monkeypatch.setenv("LATENTWIRE_SASL_PLAIN_PASSWORD", "pw-admin")
    args = parse(
        ["broker", "start", "--nodes", "3", "--port", "29092", "--secure", "--users-file", str(users)]
    )
    config = broker_cmd.config_from_args(args)
    assert isinstance(config, ClusterConfig) and config.nodes == 3 and config.ports[2] == (29096, 29097)
    assert config.users == (("bridge", "pw-b1"), ("reader", "pw-r1"))
    users.write_text("bridge pw-b1 extra\n")
    with pytest.raises(ConfigError, match="expected 'name password'") as info:
        broker_cmd.config_from_args(args)
    assert "pw-b1" not in str(info.value)
    with pytest.raises(ConfigError, match="controller-port"):
        broker_cmd.config_from_args(parse(["broker", "status", "--nodes", "3", "--controller-port", "1"]))


def test_cluster_id_looks_like_kafkas() -> None:
    ids = {broker_mod.generate_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
