"""Kafka credentials: kept out of logs, and checked once before a client retries on them.

:func:`redact_in_logs` registers a secret with a filter on the root logger's handlers, which replaces it by
``********`` in every record they write (kafka-python logs its whole configuration, password included, at
DEBUG). :func:`check_credentials` makes one short bootstrap and turns a refused SASL login into a
:class:`~compressor.errors.ConfigError` that says so (kafka-python itself would retry until its 30 s
bootstrap timeout and then report only that it could not bootstrap).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from compressor.errors import ConfigError

__all__ = ["CREDENTIAL_CHECK_SECONDS", "check_credentials", "redact_in_logs"]

log = logging.getLogger(__name__)

#: seconds the credential check may take before it gives up and lets the client try on its own
CREDENTIAL_CHECK_SECONDS = 8.0


class _Redactor(logging.Filter):
    """Replaces every registered secret in the records passing a handler (kafka-python logs its whole
    configuration, password included, at DEBUG)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(secret in text for secret in self.secrets):
            for secret in self.secrets:
                text = text.replace(secret, "********")
            record.msg, record.args = text, ()
        return True


_redactor = _Redactor()


def redact_in_logs(secret: str) -> None:
    """Keep ``secret`` out of everything the root logger's handlers write (call after logging is set up)."""
    if not secret:
        return
    _redactor.secrets.add(secret)
    for handler in logging.getLogger().handlers:
        if _redactor not in handler.filters:
            handler.addFilter(_redactor)


_checked: set[tuple[str, ...]] = set()
_checked_lock = threading.Lock()


class _AuthFailures(logging.Handler):
    """Collects the authentication failures kafka-python logs while it bootstraps.

    The broker answers a refused login with an error and then closes the connection; depending on timing
    kafka-python reports the error, or only the closed socket. A connection closed right after the client
    sent its SASL credentials, twice in a row, counts as a refusal too."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.failures: list[str] = []
        self._credentials_sent = False
        self._closed_after_login = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "Authentication" in text or "SaslAuthenticationFailed" in text or "AuthorizationError" in text:
            self.failures.append(text)
        elif "SaslAuthenticateRequest" in text:
            self._credentials_sent = True
        elif "SaslAuthenticateResponse" in text and "error_code=0" in text:
            self._credentials_sent = False  # accepted
        elif "socket disconnected" in text and self._credentials_sent:
            self._credentials_sent = False
            self._closed_after_login += 1
            if self._closed_after_login >= 2:
                self.failures.append("the broker closed the connection right after the SASL login")


def check_credentials(config: dict[str, Any], timeout: float = CREDENTIAL_CHECK_SECONDS) -> None:
    """One short bootstrap with ``config``; raise :class:`ConfigError` if the broker refuses the login.

    Any other outcome (success, or a broker that does not answer in time) returns: the real client then
    retries and reports on its own. Passed checks are remembered for the rest of the process."""
    from kafka.admin import KafkaAdminClient

    key = tuple(
        str(config.get(k))
        for k in ("bootstrap_servers", "security_protocol", "sasl_mechanism", "sasl_plain_username")
    ) + (str(hash(config.get("sasl_plain_password"))),)
    with _checked_lock:
        if key in _checked:
            return
    handler = _AuthFailures()
    # kafka-python logs the refusal at WARNING/ERROR; the CLI silences the "kafka" logger, so listen here
    names = ("kafka.net.manager", "kafka.net.connection", "kafka.net.transport", "kafka.protocol.parser")
    watched = [logging.getLogger(name) for name in names]
    saved = [(lg.level, lg.propagate, lg.disabled) for lg in watched]
    for lg in watched:
        lg.addHandler(handler)
        # the parser logs the SASL requests and responses at DEBUG; the others report failures
        lg.setLevel(logging.DEBUG if lg.name == "kafka.protocol.parser" else logging.WARNING)
        lg.propagate = False
        lg.disabled = False
    outcome: dict[str, BaseException | None] = {}

    def bootstrap() -> None:
        try:
            KafkaAdminClient(**config, bootstrap_timeout_ms=int(timeout * 1000)).close()
            outcome["error"] = None
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    # the refusal shows within a second; do not wait for kafka-python's bootstrap timeout to report it
    probe = threading.Thread(target=bootstrap, name="latentwire-credential-check", daemon=True)
    probe.start()
    deadline = time.monotonic() + timeout + 2.0
    try:
        while probe.is_alive() and not handler.failures and time.monotonic() < deadline:
            probe.join(0.05)
    finally:
        for lg, (level, propagate, disabled) in zip(watched, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.propagate = propagate
            lg.disabled = disabled
    if handler.failures:
        user = config.get("sasl_plain_username") or "(no user name)"
        servers = config["bootstrap_servers"]
        servers = ",".join(servers) if isinstance(servers, list) else servers
        raise ConfigError(
            f"Kafka authentication failed for user {user!r} at {servers} "
            f"({config.get('sasl_mechanism')} over {config['security_protocol']}): the broker refused "
            "the user name or password (check --sasl-plain-username and LATENTWIRE_SASL_PLAIN_PASSWORD)"
        )
    error = outcome.get("error", TimeoutError())
    if error is not None:
        log.warning(
            "could not reach Kafka at %s to check credentials: %s",
            config["bootstrap_servers"],
            type(error).__name__,
        )
        return
    with _checked_lock:
        _checked.add(key)
