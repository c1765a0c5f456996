"""Pure tests of the pieces around the local cluster: ACL roles, the failpoint, dropping repeats by key,
and how the CLI reports a refused operation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from compressor.errors import ConfigError
from consumers.repeats import DropRepeats
from latentwire.cli import authorization_refusal
from streaming import failpoints
from streaming.acls import Grant, bridge_grants, publisher_grants, reader_grants


def test_bridge_role_reads_its_input_and_writes_its_outputs_only() -> None:
    grants = bridge_grants("b", input_topic="raw", output_topic="packed", group="g", transactional_id="t")
    topics = {(g.name, g.operation) for g in grants if g.resource == "topic"}
    assert topics == {
        ("raw", "READ"), ("raw", "DESCRIBE"), ("packed", "WRITE"), ("packed", "DESCRIBE"),
        ("raw.dlq", "WRITE"), ("raw.dlq", "DESCRIBE"),
    }  # fmt: skip
    assert Grant("b", "group", "g", "READ") in grants
    assert Grant("b", "transactional_id", "t", "WRITE", prefixed=True) in grants
    assert all(g.user == "b" for g in grants)
    with_registry = bridge_grants(
        "b", input_topic="p", output_topic="r", group="g", transactional_id="t", registry_topic="_models",
        dead_letter_topic="dead", prefixed_transactional_id=False,
    )  # fmt: skip
    assert Grant("b", "topic", "_models", "READ") in with_registry
    assert Grant("b", "topic", "dead", "WRITE") in with_registry
    assert Grant("b", "transactional_id", "t", "WRITE") in with_registry


def test_reader_and_publisher_roles() -> None:
    assert {(g.resource, g.name, g.operation) for g in reader_grants("r", topic="restored", group="g")} == {
        ("topic", "restored", "READ"), ("topic", "restored", "DESCRIBE"), ("group", "g", "READ"),
    }  # fmt: skip
    ops = {g.operation for g in publisher_grants("p", registry_topic="_models")}
    assert ops == {"CREATE", "WRITE", "DESCRIBE"}


def test_grant_becomes_a_kafka_acl() -> None:
    from kafka.admin import ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourceType

    acl = Grant("bridge", "transactional_id", "latentwire-", "WRITE", prefixed=True).to_acl()
    assert acl.principal == "User:bridge" and acl.host == "*"
    assert acl.operation == ACLOperation.WRITE and acl.permission_type == ACLPermissionType.ALLOW
    assert acl.resource_pattern.resource_type == ResourceType.TRANSACTIONAL_ID
    assert acl.resource_pattern.pattern_type == ACLResourcePatternType.PREFIXED
    assert "User:bridge may WRITE transactional_id prefix 'latentwire-'" == str(
        Grant("bridge", "transactional_id", "latentwire-", "WRITE", prefixed=True)
    )
    with pytest.raises(ConfigError, match="resource"):
        Grant("u", "table", "x", "READ")


def test_drop_repeats_keeps_first_copies_per_partition() -> None:
    reader = DropRepeats(window=3)
    stream = [(0, "a"), (0, "b"), (1, "a"), (0, "a"), (0, "c"), (0, "d"), (0, "e"), (0, "a")]
    kept = [(p, k) for p, k in stream if reader.keep(p, k)]
    # (1, "a") is another partition; the second (0, "a") a repeat; the last one is beyond the window
    assert kept == [(0, "a"), (0, "b"), (1, "a"), (0, "c"), (0, "d"), (0, "e"), (0, "a")]
    assert reader.dropped == 1
    with pytest.raises(ValueError):
        DropRepeats(window=0)


def test_failpoint_kills_the_process_only_when_armed(tmp_path: Path) -> None:
    code = "from streaming import failpoints; failpoints.hit('p'); print('passed')"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    unarmed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert unarmed.returncode == 0 and "passed" in unarmed.stdout
    env[failpoints.ENV] = str(tmp_path)
    failpoints.arm(tmp_path, "p")
    armed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert armed.returncode == -signal.SIGKILL and "passed" not in armed.stdout
    assert not (tmp_path / "p").exists()  # disarmed by the hit: the next copy runs on
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0


def test_authorization_errors_are_reported_with_what_was_refused() -> None:
    from kafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

    text = authorization_refusal(TopicAuthorizationFailedError({"restored"}))
    assert text is not None and text.startswith("the broker refused this user access to topic restored")
    try:
        try:
            raise GroupAuthorizationFailedError("readers")
        except GroupAuthorizationFailedError as exc:
            raise RuntimeError("poll failed") from exc
    except RuntimeError as wrapped:
        assert "consumer group" in (authorization_refusal(wrapped) or "")
    assert authorization_refusal(KafkaError("other")) is None
    assert authorization_refusal(ValueError("x")) is None


def test_grant_command_builds_the_roles() -> None:
    from latentwire.cli import build_parser
    from latentwire.cli.grant_cmd import grants_from_args

    parse = build_parser().parse_args
    bridge = grants_from_args(
        parse(["grant", "decompress-bridge", "b", "--input-topic", "p", "--output-topic", "r"])
    )
    assert Grant("b", "group", "latentwire-decompress-p", "READ") in bridge
    assert Grant("b", "transactional_id", "latentwire-decompress-p", "WRITE", prefixed=True) in bridge
    assert Grant("b", "topic", "_latentwire_models", "READ") in bridge
    assert Grant("b", "topic", "p.dlq", "WRITE") in bridge
    compress = grants_from_args(
        parse(["grant", "compress-bridge", "b", "--input-topic", "raw", "--output-topic", "x"])
    )
    assert not [g for g in compress if g.name == "_latentwire_models"]
    reader = grants_from_args(parse(["grant", "reader", "r", "--topic", "restored", "--group-id", "g"]))
    assert reader == reader_grants("r", topic="restored", group="g")
    with pytest.raises(ConfigError, match="--topic and --group-id"):
        grants_from_args(parse(["grant", "reader", "r", "--topic", "restored"]))
    with pytest.raises(ConfigError, match="needs a user"):
        grants_from_args(parse(["grant", "publisher"]))


def test_a_stuck_transactional_call_ends_the_process_with_status_75() -> None:
    code = (
        "import time; from streaming.bridge_loop import exit_if_stuck\n"
        "with exit_if_stuck(5.0, 'quick'): pass\n"
        "with exit_if_stuck(0.5, 'committing the transaction'): time.sleep(30)\n"
        "print('not reached')"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=25
    )
    assert result.returncode == 75 and "not reached" not in result.stdout
    assert "committing the transaction has not returned" in result.stderr


def test_a_refusal_names_the_topic_even_when_a_wrapper_names_the_error() -> None:
    from kafka.errors import TopicAuthorizationFailedError

    from compressor.errors import SendFailedError

    try:
        try:
            raise TopicAuthorizationFailedError({"acl-restored"})
        except TopicAuthorizationFailedError as exc:
            raise SendFailedError("1 send(s) failed; first: TopicAuthorizationFailedError") from exc
    except SendFailedError as wrapped:
        assert "access to topic acl-restored (TopicAuthorizationFailedError)" in (
            authorization_refusal(wrapped) or ""
        )
    named = authorization_refusal(
        RuntimeError("InitProducerIdResponse: [Error 31] ClusterAuthorizationFailedError")
    )
    assert named is not None and "cluster-wide operation" in named
