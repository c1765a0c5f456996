"""Kafka client settings as one typed, frozen object, in kafka-python's spelling.

::

    config = KafkaConfig(bootstrap_servers="broker:9093", security_protocol="SASL_SSL",
                         sasl_plain_username="alice", sasl_plain_password=Secret(password))
    KafkaProducer(**config.settings())        # or streaming.clients.make_producer(config)

The password is held in a :class:`Secret`, which prints as ``********``: ``repr``, ``str``, error messages
and logs never show it. Only :meth:`KafkaConfig.settings` hands the plain value to kafka-python, and from
then on it is replaced by ``********`` in every log record the root logger's handlers write. With a SASL
protocol, :meth:`~KafkaConfig.settings` first checks the credentials once per process
(:func:`streaming.credentials.check_credentials`), so a wrong password fails within a second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from compressor.errors import ConfigError
from streaming.credentials import check_credentials, redact_in_logs

__all__ = ["SECURITY_PROTOCOLS", "KafkaConfig", "Secret", "config_from_mapping"]

#: the values ``security_protocol`` accepts
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")

C = TypeVar("C")

#: settings handed to kafka-python only when set
_PASSED_WHEN_SET = (
    "client_id",
    "sasl_mechanism",
    "sasl_plain_username",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
)


def config_from_mapping(cls: type[C], mapping: Mapping[str, Any]) -> C:
    """``cls(**mapping)`` for a config dataclass, refusing keys it does not know with a
    :class:`ConfigError` that names them (a misspelt setting must not be dropped silently)."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ConfigError(
            f"unknown {cls.__name__} setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return cls(**mapping)


class Secret:
    """A string that never shows itself: ``str``/``repr`` print ``********``; :meth:`get` returns it.

    Arguments:
        value (str): the secret text.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = str(value)

    def get(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "********"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class KafkaConfig:
    """Settings common to producers, consumers and admin clients; unset ones are left to kafka-python.

    Arguments (kafka-python's names):
        bootstrap_servers (str | Sequence[str]): ``host:port`` addresses, comma-separated or a sequence;
            stored as a tuple. Default: ``("127.0.0.1:9092",)``.
        client_id (str | None): the name the client gives brokers; ``None`` leaves kafka-python's own
            per-client name. Default: None.
        security_protocol (str): one of :data:`SECURITY_PROTOCOLS`. Default: ``"PLAINTEXT"``.
        sasl_mechanism (str | None): ``PLAIN``, ``SCRAM-SHA-256`` or ``SCRAM-SHA-512``; with a SASL
            protocol and no mechanism, ``PLAIN``. Default: None.
        sasl_plain_username (str | None): the SASL user. Default: None.
        sasl_plain_password (Secret | str | None): the SASL password (a plain string is wrapped in a
            :class:`Secret`). Default: None.
        ssl_cafile (str | None): CA certificate file to verify brokers. Default: None.
        ssl_certfile (str | None): client certificate file (mutual TLS). Default: None.
        ssl_keyfile (str | None): client private key file (mutual TLS). Default: None.
        reconnect_backoff_max_ms (int): longest wait between reconnection attempts to a broker that went
            away (kafka-python's own, 30000, can add half a minute to the recovery after a broker
            restart). Default: 1000.

    Build one from a dict with :func:`config_from_mapping` (``KafkaConfig.from_mapping``), which refuses
    unknown keys.
    """

    bootstrap_servers: tuple[str, ...] | str = ("127.0.0.1:9092",)
    client_id: str | None = None
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: Secret | str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    reconnect_backoff_max_ms: int = 1000

    def __post_init__(self) -> None:
        servers = self.bootstrap_servers
        parts = servers.split(",") if isinstance(servers, str) else servers
        object.__setattr__(self, "bootstrap_servers", tuple(s.strip() for s in parts if s.strip()))
        if not self.bootstrap_servers:
            raise ConfigError("bootstrap_servers is empty: give at least one host:port")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(
                f"security_protocol must be one of {', '.join(SECURITY_PROTOCOLS)}, "
                f"got {self.security_protocol!r}"
            )
        password = self.sasl_plain_password
        if password is not None and not isinstance(password, Secret):
            password = Secret(password)
        object.__setattr__(self, "sasl_plain_password", password or None)
        if self.sasl and not self.sasl_mechanism:
            object.__setattr__(self, "sasl_mechanism", "PLAIN")
        if self.reconnect_backoff_max_ms <= 0:
            raise ConfigError(
                f"reconnect_backoff_max_ms must be positive, got {self.reconnect_backoff_max_ms}"
            )

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> KafkaConfig:
        """A config from a dict in kafka-python's spelling; unknown keys are a :class:`ConfigError`."""
        return config_from_mapping(cls, mapping)

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL")

    def settings(self, *, check: bool = True) -> dict[str, Any]:
        """The keyword arguments of a kafka-python client, unset values left out.

        This is the only place the plain password leaves its :class:`Secret`; it is registered for
        redaction in logs first. With a SASL protocol and ``check``, the credentials are verified once per
        process (:func:`~streaming.credentials.check_credentials`)."""
        config: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap_servers),
            "security_protocol": self.security_protocol,
            "reconnect_backoff_max_ms": self.reconnect_backoff_max_ms,
        }
        for name in _PASSED_WHEN_SET:
            value = getattr(self, name)
            if value:
                config[name] = value
        if isinstance(self.sasl_plain_password, Secret):
            config["sasl_plain_password"] = self.sasl_plain_password.get()
            redact_in_logs(config["sasl_plain_password"])
        if self.sasl and check:
            check_credentials(config)
        return config
