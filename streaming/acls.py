"""Who may do what on a secure broker or cluster: the ACLs of latentwire's roles.

A secure :class:`~streaming.broker.LocalBroker` or :class:`~streaming.cluster.LocalCluster` authorizes
every request with KRaft's StandardAuthorizer: its super user may do anything, every other user only
what an ACL allows (``allow.everyone.if.no.acl.found`` stays false, so a user without grants can log in
and do nothing else). The roles, each a list of :class:`Grant` (allow rules, from any host):

``bridge_grants``    a compress or decompress bridge: read its input topic, write its output topic and
                     its dead-letter topic, join and commit in its consumer group, use its transactional
                     id (prefix), and (decompress) read the model registry topic
``reader_grants``    a consumer of one topic in one consumer group (read and commit only)
``publisher_grants`` publishes model bundles: create and write the registry topic

:func:`apply` creates grants as the super user; the same rules written with Kafka's own tool::

    kafka-acls --bootstrap-server 127.0.0.1:9092 --command-config admin.properties --add \\
        --allow-principal User:bridge --operation Read --topic raw --group latentwire-compress-raw
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compressor.errors import ConfigError

__all__ = [
    "Grant",
    "apply",
    "bridge_grants",
    "list_grants",
    "publisher_grants",
    "reader_grants",
    "require_topic_access",
]

_RESOURCES = ("topic", "group", "transactional_id", "cluster")


@dataclass(frozen=True)
class Grant:
    """One allow rule: ``user`` may do ``operation`` on the ``resource`` called ``name``, from any host.

    Arguments:
        user (str): the SASL user name (the principal is ``User:<user>``).
        resource (str): ``topic``, ``group``, ``transactional_id`` or ``cluster``.
        name (str): the resource's name (or prefix).
        operation (str): a Kafka ACL operation: ``READ``, ``WRITE``, ``DESCRIBE``, ``CREATE``, ...
        prefixed (bool): ``name`` is a prefix (every resource whose name starts with it), not a literal
            name. Default: False.
    """

    user: str
    resource: str
    name: str
    operation: str
    prefixed: bool = False

    def __post_init__(self) -> None:
        if self.resource not in _RESOURCES:
            raise ConfigError(f"ACL resource must be one of {_RESOURCES}, got {self.resource!r}")
        if not self.user or not self.name:
            raise ConfigError("an ACL needs a user and a resource name")

    def __str__(self) -> str:
        kind = "prefix" if self.prefixed else "name"
        return f"User:{self.user} may {self.operation} {self.resource} {kind} {self.name!r}"

    def to_acl(self) -> Any:
        """The kafka-python ``ACL``."""
        from kafka.admin import (
            ACL,
            ACLOperation,
            ACLPermissionType,
            ACLResourcePatternType,
            ResourcePattern,
            ResourceType,
        )

        pattern = ResourcePattern(
            ResourceType[self.resource.upper()],
            self.name,
            ACLResourcePatternType.PREFIXED if self.prefixed else ACLResourcePatternType.LITERAL,
        )
        return ACL(f"User:{self.user}", "*", ACLOperation[self.operation], ACLPermissionType.ALLOW, pattern)


def _topic(user: str, topic: str, *operations: str) -> list[Grant]:
    return [Grant(user, "topic", topic, op) for op in (*operations, "DESCRIBE")]


def reader_grants(user: str, *, topic: str, group: str) -> list[Grant]:
    """Read ``topic`` and commit its offsets in ``group``; nothing else."""
    return [*_topic(user, topic, "READ"), Grant(user, "group", group, "READ")]


def bridge_grants(
    user: str,
    *,
    input_topic: str,
    output_topic: str,
    group: str,
    transactional_id: str,
    dead_letter_topic: str | None = None,
    registry_topic: str | None = None,
    prefixed_transactional_id: bool = True,
) -> list[Grant]:
    """What one bridge needs (see the module docstring); ``dead_letter_topic`` defaults to
    ``<input_topic>.dlq``, as the bridges' own default. ``transactional_id`` is a prefix unless
    ``prefixed_transactional_id`` is false (a bridge's default id ends in its host name and pid)."""
    dead_letters = dead_letter_topic or f"{input_topic}.dlq"
    grants = [
        *reader_grants(user, topic=input_topic, group=group),
        *_topic(user, output_topic, "WRITE"),
        *_topic(user, dead_letters, "WRITE"),
    ]
    grants += [
        Grant(user, "transactional_id", transactional_id, op, prefixed=prefixed_transactional_id)
        for op in ("WRITE", "DESCRIBE")
    ]
    if registry_topic:
        grants += _topic(user, registry_topic, "READ")
    return grants


def publisher_grants(user: str, *, registry_topic: str) -> list[Grant]:
    """Create the model registry topic and publish bundles to it."""
    return _topic(user, registry_topic, "CREATE", "WRITE")


def apply(client_config: Mapping[str, Any], grants: list[Grant]) -> None:
    """Create ``grants`` as the user of ``client_config`` (the super user); raise if any is refused."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(**client_config, client_id="latentwire-acls")
    try:
        result = admin.create_acls([grant.to_acl() for grant in grants])
    finally:
        admin.close()
    failed = result.get("failed", [])
    if failed:
        acl, error = failed[0]
        raise ConfigError(f"the broker refused {len(failed)} ACL(s), e.g. {acl}: {error}")


def list_grants(client_config: Mapping[str, Any]) -> list[Grant]:
    """Every allow rule the broker holds."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        KafkaAdminClient,
        ResourcePatternFilter,
        ResourceType,
    )

    admin = KafkaAdminClient(**client_config, client_id="latentwire-acls")
    try:
        acls, error = admin.describe_acls(
            ACLFilter(
                principal=None, host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
            )
        )  # fmt: skip
    finally:
        admin.close()
    if error is not None and getattr(error, "errno", 0):
        raise ConfigError(f"cannot list ACLs: {error}")
    return sorted(
        (
            Grant(
                acl.principal.split(":", 1)[1],
                acl.resource_pattern.resource_type.name.lower(),
                acl.resource_pattern.resource_name,
                acl.operation.name,
                acl.resource_pattern.pattern_type == ACLResourcePatternType.PREFIXED,
            )  # fmt: skip
            for acl in acls
            if acl.permission_type == ACLPermissionType.ALLOW
        ),
        key=str,
    )


#: Kafka's TOPIC_AUTHORIZATION_FAILED error code
_TOPIC_AUTHORIZATION_FAILED = 29


def require_topic_access(client_config: Mapping[str, Any], topic: str) -> None:
    """Raise ``TopicAuthorizationFailedError`` if the broker refuses this user ``topic``.

    A kafka-python consumer subscribed to a topic it may not read says nothing: the refusal is raised in a
    metadata listener whose exceptions are swallowed, and ``poll`` returns nothing until its caller gives
    up. Readers call this first, so a refusal is reported at once. A topic that does not exist (yet), or a
    broker that cannot be asked, passes: the consumer then waits or fails as before."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import TopicAuthorizationFailedError

    config = dict(client_config)
    config.pop("client_id", None)
    try:
        admin = KafkaAdminClient(**config, client_id="latentwire-access-check")
    except Exception:  # not reachable now: the consumer will report it
        return
    try:
        described = admin.describe_topics([topic])
    except TopicAuthorizationFailedError:
        raise
    except Exception:
        return
    finally:
        admin.close()
    for entry in described:
        if entry.get("error_code") == _TOPIC_AUTHORIZATION_FAILED:
            raise TopicAuthorizationFailedError({topic})
