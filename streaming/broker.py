"""Run a real single-node Apache Kafka broker (KRaft, combined broker + controller) on the loopback.

The broker's jars are resolved from Maven Central by ``deploy/kafka/pom.xml`` (one ``mvn
dependency:copy-dependencies`` run, cached per Kafka version under ``$LATENTWIRE_CACHE_DIR`` or
``~/.cache/latentwire``), then ``kafka.Kafka`` runs detached from the calling process, so the broker
outlives ``latentwire broker start`` and is found again through its pid file by ``stop`` and ``status``.

Layout of a broker directory (default ``~/.cache/latentwire/broker-<port>``)::

    server.properties   rendered from BrokerConfig on every start
    data/               log.dirs, formatted once (dynamic quorum, --standalone)
    broker.log          the JVM's stdout and stderr
    broker.pid          pid of the running JVM
    tls/                with ``secure``: ca.pem (give it to clients), broker.pem (key + certificate)

With ``secure=True`` the client listener speaks SASL_SSL: TLS with a certificate for 127.0.0.1 signed by
a CA generated once into ``tls/`` (``openssl``), and SASL/PLAIN or SASL/SCRAM-SHA-512 with a super user
whose password is given by the caller plus any further ``users`` (SCRAM credentials are created when the
storage is formatted; ``server.properties`` holds the PLAIN passwords and is written readable by its owner
only). The controller listener speaks SASL/PLAIN (plaintext, loopback) as the super user, and the
StandardAuthorizer lets every other user do only what an ACL grants (:mod:`streaming.acls`). Clients
connect with ``security_protocol="SASL_SSL"``, ``sasl_mechanism="PLAIN"`` (or ``"SCRAM-SHA-512"``) and
``ssl_cafile=tls/ca.pem`` (:meth:`BrokerConfig.client_config`). Several nodes with ``voters`` form a
cluster (:mod:`streaming.cluster`).

Typical use::

    with LocalBroker(BrokerConfig(port=19092)) as broker:
        produce(broker.bootstrap_servers)
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self, cast

from compressor.errors import BrokerError, ConfigError

__all__ = [
    "BrokerConfig",
    "BrokerStatus",
    "LocalBroker",
    "broker_reachable",
    "find_pom",
    "resolve_jars",
]

log = logging.getLogger(__name__)

#: Overrides the location of ``deploy/kafka/pom.xml`` (needed when latentwire is installed as a wheel).
POM_ENV = "LATENTWIRE_KAFKA_POM"
#: Root of every cache latentwire keeps (Kafka jars, default broker directories).
CACHE_ENV = "LATENTWIRE_CACHE_DIR"
#: Default JVM heap of the broker when :class:`BrokerConfig` is not given one.
HEAP_ENV = "LATENTWIRE_BROKER_HEAP"

HOST = "127.0.0.1"
#: the SCRAM mechanism a secure broker offers next to PLAIN (credentials created when storage is formatted)
SCRAM = "SCRAM-SHA-512"
#: Kafka's own default for ``message.max.bytes`` (1 MiB plus the record batch overhead).
DEFAULT_MESSAGE_MAX_BYTES = 1048588
_MAIN_CLASS = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"
_MARKER = "jars.ok"
_LOG_TAIL_LINES = 20
_HEAP_RE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")


def cache_root() -> Path:
    """``$LATENTWIRE_CACHE_DIR`` or ``~/.cache/latentwire``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "latentwire"


def _default_heap() -> str:
    return os.environ.get(HEAP_ENV, "512m")


@dataclass(frozen=True)
class BrokerConfig:
    """Where and how the local broker runs.

    ``controller_port`` and ``dir`` are filled in on construction, so after ``__init__`` they are never
    ``None``.

    Arguments:
        port (int): the client port on 127.0.0.1. Default: 9092.
        controller_port (int | None): the KRaft controller port. Default: None, ``port + 1``.
        dir (Path | None): where the broker keeps its data, logs and pid file.
            Default: None, ``<cache root>/broker-<port>``.
        heap (str): JVM ``-Xmx`` value such as ``"512m"`` or ``"1g"``.
            Default: ``$LATENTWIRE_BROKER_HEAP``, else ``"512m"``.
        message_max_bytes (int): the broker's ``message.max.bytes``. Default: 1048588 (Kafka's).
        secure (bool): SASL_SSL (TLS + SASL/PLAIN or SCRAM-SHA-512) on the client port instead of
            PLAINTEXT, SASL/PLAIN on the controller port, ACLs (StandardAuthorizer). Default: False.
        user (str): the super user (``secure`` only): the nodes log in as it too. Default: ``"latentwire"``.
        password (str | None): that user's password (``secure`` only; required then). Never shown in repr,
            logs or errors. Default: None.
        users (tuple[tuple[str, str], ...]): more SASL users as ``((name, password), ...)`` (``secure``
            only); they log in with PLAIN or SCRAM-SHA-512 and may do only what ACLs grant them. Never
            shown in repr. Default: ``()``.
        node_id (int): KRaft node id of this node. Default: 1.
        voters (tuple[tuple[int, int], ...]): the controller quorum of a cluster as ``((node id,
            controller port), ...)``; empty: this node alone (dynamic quorum, formatted ``--standalone``).
            Default: ``()``.
        replication (int): replication factor of the internal topics (offsets, transaction state) and of
            new topics. Default: 1.
        min_insync (int): ``min.insync.replicas`` of the transaction state log and of new topics.
            Default: 1.
        tls (Path | None): folder of the CA and broker certificate (``secure`` only); the nodes of a
            cluster share one, so clients trust them all through one CA file. Default: None,
            ``<dir>/tls``.
        internal_partitions (int | None): partitions of ``__consumer_offsets`` and
            ``__transaction_state`` (``offsets.topic.num.partitions``,
            ``transaction.state.log.num.partitions``); None: Kafka's 50. Default: None.
        session_timeout_ms (int | None): ``broker.session.timeout.ms``, how long the controllers wait
            for a node's heartbeat before they fence it and move its partition leaders elsewhere; the
            node then heartbeats every quarter of it (``broker.heartbeat.interval.ms``). None: Kafka's
            9000 and 2000. Default: None.
    """

    port: int = 9092
    controller_port: int | None = None
    dir: Path | None = None
    heap: str = field(default_factory=_default_heap)
    message_max_bytes: int = DEFAULT_MESSAGE_MAX_BYTES
    secure: bool = False
    user: str = "latentwire"
    password: str | None = field(default=None, repr=False, compare=False)
    users: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)
    node_id: int = 1
    voters: tuple[tuple[int, int], ...] = ()
    replication: int = 1
    min_insync: int = 1
    tls: Path | None = None
    internal_partitions: int | None = None
    session_timeout_ms: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("port", self.port), ("controller_port", self.controller_port)):
            if value is not None and not 1 <= value <= 65535:
                raise ConfigError(f"broker {name} must be in 1..65535, got {value}")
        cport = self.port + 1 if self.controller_port is None else self.controller_port
        if not 1 <= cport <= 65535:
            raise ConfigError(f"controller port {cport} out of range; pass --controller-port")
        if cport == self.port:
            raise ConfigError(f"controller port must differ from the broker port ({self.port})")
        if not _HEAP_RE.match(self.heap):
            raise ConfigError(f"heap must look like 512m or 1g, got {self.heap!r}")
        if self.message_max_bytes <= 0:
            raise ConfigError("message_max_bytes must be positive")
        if self.internal_partitions is not None and self.internal_partitions < 1:
            raise ConfigError(f"internal_partitions must be at least 1, got {self.internal_partitions}")
        if self.session_timeout_ms is not None and self.session_timeout_ms < 1000:
            raise ConfigError(f"session_timeout_ms must be at least 1000, got {self.session_timeout_ms}")
        if self.voters and self.node_id not in dict(self.voters):
            raise ConfigError(f"node {self.node_id} is not one of the voters {self.quorum_voters}")
        if not 1 <= self.min_insync <= self.replication:
            raise ConfigError(
                f"min_insync must be in 1..replication ({self.replication}), got {self.min_insync}"
            )
        if self.secure:
            if not self.password:
                raise ConfigError(
                    "a secure broker needs a password for its SASL user: set LATENTWIRE_SASL_PLAIN_PASSWORD "
                    "(or pass --sasl-plain-password)"
                )
            names = [self.user, *(name for name, _ in self.users)]
            if len(set(names)) != len(names):
                raise ConfigError(f"SASL user names must be distinct, got {sorted(names)}")
            for name, password in ((self.user, self.password), *self.users):
                _check_credentials(name, password)
        directory = cache_root() / f"broker-{self.port}" if self.dir is None else Path(self.dir)
        object.__setattr__(self, "controller_port", cport)
        object.__setattr__(self, "dir", directory.expanduser().absolute())

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def quorum_voters(self) -> str:
        """``controller.quorum.voters`` of a cluster (``1@127.0.0.1:9093,...``); empty for one node."""
        return ",".join(f"{node}@{HOST}:{cport}" for node, cport in self.voters)

    def scram_credentials(self) -> list[str]:
        """``kafka-storage format --add-scram`` values: every user, SCRAM-SHA-512 (``secure`` only)."""
        if not self.secure:
            return []
        users = ((self.user, cast(str, self.password)), *self.users)
        return [f"{SCRAM}=[name={name},password={password}]" for name, password in users]

    @property
    def tls_dir(self) -> Path:
        return Path(self.tls).expanduser().absolute() if self.tls else cast(Path, self.dir) / "tls"

    @property
    def ca_file(self) -> Path:
        """The CA certificate clients verify a secure broker with."""
        return self.tls_dir / "ca.pem"

    def client_config(self) -> dict[str, object]:
        """kafka-python settings to connect to this broker (with the password, for a secure one)."""
        config: dict[str, object] = {"bootstrap_servers": self.bootstrap_servers}
        if self.secure:
            config.update(
                security_protocol="SASL_SSL",
                sasl_mechanism="PLAIN",
                sasl_plain_username=self.user,
                sasl_plain_password=self.password,
                ssl_cafile=str(self.ca_file),
            )
        return config

    def properties(self) -> dict[str, str]:
        """The ``server.properties`` entries, in file order."""
        cport = cast(int, self.controller_port)
        data = cast(Path, self.dir) / "data"
        listener = "SASL_SSL" if self.secure else "PLAINTEXT"
        controller = "SASL_PLAINTEXT" if self.secure else "PLAINTEXT"
        # one node: a dynamic quorum formatted --standalone (controller.quorum.voters must stay unset);
        # a cluster: the static quorum of every node's controller port
        quorum = (
            {"controller.quorum.voters": self.quorum_voters}
            if self.voters
            else {"controller.quorum.bootstrap.servers": f"{HOST}:{cport}"}
        )
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            **quorum,
            "listeners": f"{listener}://{HOST}:{self.port},CONTROLLER://{HOST}:{cport}",
            "advertised.listeners": f"{listener}://{HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": f"{listener}:{listener},CONTROLLER:{controller}",
            "inter.broker.listener.name": listener,
            "log.dirs": str(data),
            "offsets.topic.replication.factor": str(self.replication),
            "transaction.state.log.replication.factor": str(self.replication),
            "transaction.state.log.min.isr": str(self.min_insync),
            "default.replication.factor": str(self.replication),
            "min.insync.replicas": str(self.min_insync),
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
            "message.max.bytes": str(self.message_max_bytes),
        }
        if self.internal_partitions is not None:
            props["offsets.topic.num.partitions"] = str(self.internal_partitions)
            props["transaction.state.log.num.partitions"] = str(self.internal_partitions)
        if self.session_timeout_ms is not None:
            props["broker.session.timeout.ms"] = str(self.session_timeout_ms)
            props["broker.heartbeat.interval.ms"] = str(self.session_timeout_ms // 4)
            if self.voters:  # a follower that hears nothing from the active controller for a third of it
                # stands for election (Kafka's: 2000 ms), so a controller's death costs a third of the
                # session timeout before the new controller starts counting its own
                props["controller.quorum.fetch.timeout.ms"] = str(self.session_timeout_ms // 3)
        if self.secure:
            # every client (and the broker talking to itself or to the others, e.g. to replicate or write
            # transaction markers) goes through TLS + SASL (PLAIN or SCRAM-SHA-512); the controllers talk
            # SASL/PLAIN on loopback as the super user. ACLs (StandardAuthorizer) decide what each user may
            # do; with none, only the super user may do anything.
            plain = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            login = f'username="{self.user}" password="{self.password}"'
            everyone = " ".join(
                f'user_{name}="{password}"' for name, password in ((self.user, self.password), *self.users)
            )
            props.update(
                {
                    "sasl.enabled.mechanisms": f"PLAIN,{SCRAM}",
                    "sasl.mechanism.inter.broker.protocol": "PLAIN",
                    "listener.name.sasl_ssl.plain.sasl.jaas.config": f"{plain} {login} {everyone};",
                    f"listener.name.sasl_ssl.{SCRAM.lower()}.sasl.jaas.config": (
                        "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                    ),
                    "sasl.mechanism.controller.protocol": "PLAIN",
                    "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
                    "listener.name.controller.plain.sasl.jaas.config": (
                        f'{plain} {login} user_{self.user}="{self.password}";'
                    ),
                    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                    "super.users": f"User:{self.user}",
                    "ssl.keystore.type": "PEM",
                    "ssl.keystore.location": str(self.tls_dir / "broker.pem"),
                    "ssl.truststore.type": "PEM",
                    "ssl.truststore.location": str(self.ca_file),
                    "ssl.client.auth": "none",
                }
            )
        return props

    def render_properties(self) -> str:
        """``server.properties`` text (values escaped the way java.util.Properties reads them)."""
        lines = ["# written by latentwire broker start; edits are overwritten on the next start"]
        lines += [f"{key}={_escape(value)}" for key, value in self.properties().items()]
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\")


def _check_credentials(name: str, password: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ConfigError(f"SASL user name may hold letters, digits, '_', '.', '-' only, got {name!r}")
    if not password:
        raise ConfigError(f"SASL user {name!r} needs a password")
    # the JAAS line quotes passwords; kafka-storage --add-scram splits on ',' and '[]'
    if any(c in password for c in '"\\\n\r,[]'):
        raise ConfigError(
            f"the password of SASL user {name!r} may not contain quotes, backslashes, commas, brackets "
            "or line breaks"
        )


@dataclass(frozen=True)
class BrokerStatus:
    """What :meth:`LocalBroker.status` found.

    Arguments:
        running (bool): whether the broker process is running.
        pid (int | None): its process id, if running.
        bootstrap_servers (str): the address clients connect to.
        dir (Path): the broker's directory.
        log_path (Path): its log file.
    """

    running: bool
    pid: int | None
    bootstrap_servers: str
    dir: Path
    log_path: Path


# --------------------------------------------------------------------------------------------- jars


def find_pom() -> Path:
    """``$LATENTWIRE_KAFKA_POM``, else ``deploy/kafka/pom.xml`` next to the ``compressor`` package."""
    env = os.environ.get(POM_ENV)
    if env:
        pom = Path(env).expanduser()
        if not pom.is_file():
            raise BrokerError(f"{POM_ENV}={env} does not name a file")
        return pom
    pom = Path(__file__).resolve().parent.parent / "deploy" / "kafka" / "pom.xml"
    if not pom.is_file():
        raise BrokerError(
            f"cannot find the Kafka pom at {pom} (latentwire seems to be installed without its source "
            f"tree); set {POM_ENV} to the path of deploy/kafka/pom.xml from the latentwire repository"
        )
    return pom


def kafka_version(pom: Path) -> str:
    """The ``kafka.version`` property of the pom."""
    try:
        root = ET.parse(pom).getroot()
    except (OSError, ET.ParseError) as exc:
        raise BrokerError(f"cannot read {pom}: {exc}") from exc
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "kafka.version" and element.text:
            return element.text.strip()
    raise BrokerError(f"{pom} defines no kafka.version property")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive advisory lock, so concurrent test sessions do not run maven into the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def resolve_jars(cache_dir: Path | None = None) -> Path:
    """Folder holding the broker's jars; runs maven the first time (and after the pom changes) only.

    The jars land in ``<cache_dir>/kafka-<version>/jars``; ``cache_dir`` defaults to
    ``$LATENTWIRE_CACHE_DIR`` or ``~/.cache/latentwire``. A marker file holding the pom's hash is
    written after a successful copy; while it matches, maven is not run again.
    """
    pom = find_pom()
    version = kafka_version(pom)
    base = (cache_root() if cache_dir is None else Path(cache_dir).expanduser()) / f"kafka-{version}"
    jars, marker = base / "jars", base / _MARKER
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()

    def cached() -> bool:
        return marker.is_file() and marker.read_text().strip() == digest and any(jars.glob("*.jar"))

    if cached():
        return jars
    with _locked(base / ".lock"):
        if cached():  # another process finished while we waited for the lock
            return jars
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "Apache Maven (`mvn`) is not on PATH; it is needed once to download the Kafka "
                f"{version} jars from Maven Central (install maven, e.g. `apt-get install maven`)"
            )
        staging = base / f"jars.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        ]  # fmt: skip
        log.info("resolving Kafka %s jars with maven into %s", version, jars)
        started = time.monotonic()
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not any(staging.glob("*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            output = _tail((result.stdout + result.stderr).splitlines(), _LOG_TAIL_LINES)
            raise BrokerError(f"maven could not resolve the Kafka jars (exit {result.returncode}):\n{output}")
        shutil.rmtree(jars, ignore_errors=True)
        staging.rename(jars)
        marker.write_text(digest + "\n")
        log.info("resolved %d jars in %.1f s", len(list(jars.glob("*.jar"))), time.monotonic() - started)
    return jars


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise BrokerError("no `java` on PATH (and JAVA_HOME unset); Kafka 4.1 needs Java 17 or newer")
    return java


def _tail(lines: list[str], n: int) -> str:
    return "\n".join(lines[-n:])


def _run_tool(cmd: list[str], what: str, cwd: Path) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)
    if result.returncode != 0:
        output = _tail((result.stdout + result.stderr).splitlines(), _LOG_TAIL_LINES)
        raise BrokerError(f"{what} failed (exit {result.returncode}):\n{output}")
    return result.stdout


def generate_cluster_id() -> str:
    """A new KRaft cluster id, as ``kafka-storage random-uuid`` makes one: a random UUID in URL-safe
    base64 without padding, never starting with '-' (it would read as an option)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


# ------------------------------------------------------------------------------------------ probing


def _port_open(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def broker_reachable(bootstrap_servers: str, timeout: float, **security: object) -> bool:
    """True when a Kafka broker at ``bootstrap_servers`` answers a metadata request within ``timeout``.

    ``security`` holds kafka-python settings such as ``security_protocol`` for a secure broker."""
    first = bootstrap_servers.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit() or not _port_open(host.strip("[]"), int(port), min(timeout, 2.0)):
        return False
    from kafka.admin import KafkaAdminClient  # lazy: kafka-python is only needed once a port answers

    timeout_ms = max(int(timeout * 1000), 100)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            client_id="latentwire-broker-probe",
            **security,
        )
    except Exception as exc:  # any failure just means "not (yet) reachable"
        log.debug("broker at %s not reachable: %s", bootstrap_servers, exc)
        return False
    try:
        admin.list_topics()
        return True
    except Exception as exc:
        log.debug("broker at %s not answering: %s", bootstrap_servers, exc)
        return False
    finally:
        admin.close()


def _pid_alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)  # our own child: reap it if it exited
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


# ------------------------------------------------------------------------------------------- broker


class Detached:
    """``with`` support for processes that outlive their starter: ``__enter__`` starts them, ``__exit__``
    stops them only if this ``with`` started them (not if they were already running)."""

    _owned = False

    def start(self, timeout: float = 60.0) -> None:
        raise NotImplementedError

    def stop(self, timeout: float = 30.0) -> None:
        raise NotImplementedError

    def _any_running(self) -> bool:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._owned = not self._any_running()
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._owned:
            self._owned = False
            self.stop()


class LocalBroker(Detached):
    """A single-node KRaft Kafka broker bound to 127.0.0.1, run detached from this process.

    ``start`` and ``stop`` work across processes (the pid file is the source of truth), so
    ``latentwire broker start`` in one shell and ``latentwire broker stop`` in another both work.

    Arguments:
        config (BrokerConfig): where and how it runs.
        cluster_id (str | None): the id storage is formatted with (the nodes of a cluster share one).
            Default: None, a new random one.
    """

    def __init__(self, config: BrokerConfig, cluster_id: str | None = None) -> None:
        self.config = config
        #: the id storage is formatted with (nodes of one cluster share it); unset: a random one
        self.cluster_id = cluster_id
        self.dir = cast(Path, config.dir)
        self.properties_path = self.dir / "server.properties"
        self.log_path = self.dir / "broker.log"
        self.pid_path = self.dir / "broker.pid"
        self.data_dir = self.dir / "data"
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"LocalBroker({self.bootstrap_servers}, dir={self.dir})"

    @property
    def bootstrap_servers(self) -> str:
        return self.config.bootstrap_servers

    # ----------------------------------------------------------------------------------- state

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _alive(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None
        if not _pid_alive(pid):
            return False
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists():  # guard against a recycled pid after a reboot or crash
            with contextlib.suppress(OSError):
                text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                return _MAIN_CLASS in text and str(self.properties_path) in text
        return True

    def _running_pid(self) -> int | None:
        pid = self._read_pid()
        return pid if pid is not None and self._alive(pid) else None

    def status(self) -> BrokerStatus:
        pid = self._running_pid()
        return BrokerStatus(
            running=pid is not None,
            pid=pid,
            bootstrap_servers=self.bootstrap_servers,
            dir=self.dir,
            log_path=self.log_path,
        )

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no broker log)"
        return _tail(lines, _LOG_TAIL_LINES)

    # ---------------------------------------------------------------------------------- start

    def start(self, timeout: float = 60.0) -> None:
        """Start the broker and wait until it answers; do nothing if it is already running."""
        self.launch()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the running broker answers a metadata request; SIGKILL a JVM this object started
        if it does not (or if the wait is interrupted)."""
        pid = self._running_pid()
        if pid is None:
            raise BrokerError(
                f"the broker at {self.bootstrap_servers} is not running; last lines of {self.log_path}:\n"
                f"{self._log_tail()}"
            )
        try:
            self._wait_ready(pid, time.monotonic() + timeout, timeout)
        except BaseException:  # including KeyboardInterrupt: never leave a half-started JVM behind
            if self._proc is not None and self._proc.pid == pid:
                self._kill_quietly(pid)
            raise

    def launch(self) -> None:
        """Format storage on first use and start the JVM, without waiting for it to answer (the nodes
        of a cluster answer only once a quorum of them runs); do nothing if it is already running."""
        pid = self._running_pid()
        if pid is not None:
            log.info("broker already running (pid %d) at %s", pid, self.bootstrap_servers)
            return
        cport = cast(int, self.config.controller_port)
        for port in (self.config.port, cport):
            if not _port_free(port):
                raise BrokerError(f"port {HOST}:{port} is already in use by another process")
        jars = resolve_jars()
        java = _java()
        classpath = str(jars / "*")
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.config.secure:
            self._ensure_tls()
        # may hold the SASL password: readable by its owner only, created so from the start
        self.properties_path.unlink(missing_ok=True)
        fd = os.open(self.properties_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.config.render_properties())
        self._format(java, classpath)

        cmd = [java, f"-Xmx{self.config.heap}", "-Djava.awt.headless=true"]
        log_config = find_pom().parent / "log4j2.yaml"
        if log_config.is_file():
            cmd.append(f"-Dlog4j2.configurationFile={log_config}")
        else:
            log.warning("no %s; the broker logs with log4j2's defaults (errors only)", log_config)
        cmd += ["-cp", classpath, _MAIN_CLASS, str(self.properties_path)]
        with open(self.log_path, "ab") as out:
            out.write(f"--- latentwire: starting broker at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.dir, start_new_session=True,
            )  # fmt: skip
        self.pid_path.write_text(f"{self._proc.pid}\n")
        log.info(
            "started broker pid %d at %s (log %s)", self._proc.pid, self.bootstrap_servers, self.log_path
        )

    def _ensure_tls(self) -> None:
        """A CA and a broker certificate for 127.0.0.1 in ``tls/``, generated once with ``openssl``."""
        tls = self.config.tls_dir
        if (tls / "broker.pem").is_file() and self.config.ca_file.is_file():
            return
        openssl = shutil.which("openssl")
        if openssl is None:
            raise BrokerError("a secure broker needs `openssl` on PATH to generate its TLS certificates")
        tls.mkdir(parents=True, exist_ok=True)
        os.chmod(tls, 0o700)
        days = "3650"
        steps = [
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", days, "-subj", "/CN=latentwire local CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
             "-subj", "/CN=127.0.0.1"],
            [openssl, "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "broker.crt", "-days", days, "-extfile", "broker.ext"],
        ]  # fmt: skip
        (tls / "broker.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        )
        for cmd in steps:
            result = subprocess.run(cmd, capture_output=True, text=True, cwd=tls, check=False)
            if result.returncode != 0:
                raise BrokerError(
                    f"openssl {cmd[1]} failed (exit {result.returncode}): {result.stderr.strip()}"
                )
        # Kafka's PEM key store: the unencrypted PKCS#8 key followed by the certificate chain
        key = (tls / "broker.key").read_text()
        fd = os.open(tls / "broker.pem", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + (tls / "broker.crt").read_text() + self.config.ca_file.read_text())
        for name in ("broker.csr", "broker.ext", "broker.key"):
            (tls / name).unlink(missing_ok=True)
        os.chmod(tls / "ca.key", 0o600)
        log.info("generated a CA and a broker certificate for %s in %s", HOST, tls)

    def _format(self, java: str, classpath: str) -> None:
        """Format ``data/`` once (fresh storage), with the SCRAM credentials of a secure broker; refuse a
        directory formatted for another controller quorum or another set of users."""
        stamp = self.dir / "formatted-for"
        config = self.config
        quorum = config.quorum_voters or f"{HOST}:{config.controller_port}"
        users = ",".join(sorted([config.user, *(name for name, _ in config.users)])) if config.secure else ""
        endpoint = f"{quorum} {users}".strip()
        if (self.data_dir / "meta.properties").is_file():
            previous = stamp.read_text().strip() if stamp.is_file() else endpoint
            if previous != endpoint:
                raise BrokerError(
                    f"{self.data_dir} was formatted for {previous!r}, not {endpoint!r} (controller quorum "
                    "and SCRAM users are set when storage is formatted); use the same ports, users or "
                    "another --dir"
                )
            return
        base = [java, "-Xmx256m", "-cp", classpath, _STORAGE_TOOL]
        cluster_id = self.cluster_id or generate_cluster_id()
        cmd = [*base, "format", "-t", cluster_id, "-c", str(self.properties_path)]
        if not config.voters:
            cmd.append("--standalone")
        for credential in config.scram_credentials():  # on the command line of a short-lived tool only
            cmd += ["--add-scram", credential]
        self._run_tool(cmd, "kafka-storage format")
        stamp.write_text(endpoint + "\n")
        log.info("formatted %s (cluster id %s)", self.data_dir, cluster_id)

    def _run_tool(self, cmd: list[str], what: str) -> str:
        """Run a Kafka tool; its arguments (which may hold passwords) are never put in the error."""
        return _run_tool(cmd, what, self.dir)

    def _client_security(self) -> dict[str, object]:
        config = self.config.client_config()
        config.pop("bootstrap_servers")
        return config

    def _wait_ready(self, pid: int, deadline: float, timeout: float) -> None:
        while True:
            if not self._alive(pid):
                self.pid_path.unlink(missing_ok=True)
                raise BrokerError(
                    f"the broker (pid {pid}) exited during startup; last lines of {self.log_path}:\n"
                    f"{self._log_tail()}"
                )
            remaining = deadline - time.monotonic()
            if broker_reachable(
                self.bootstrap_servers, timeout=max(min(remaining, 5.0), 0.5), **self._client_security()
            ):
                return
            if time.monotonic() >= deadline:
                raise BrokerError(
                    f"the broker did not answer at {self.bootstrap_servers} within {timeout:g} s; "
                    f"last lines of {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(0.25)

    # ----------------------------------------------------------------------------------- stop

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the broker and wait for its clean shutdown; SIGKILL it after ``timeout`` seconds."""
        pid = self._running_pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            log.info("broker at %s is not running", self.bootstrap_servers)
            return
        log.info("stopping broker pid %d", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_exit(pid, timeout):
            log.warning("broker pid %d still running after %g s; killing it", pid, timeout)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not self._wait_exit(pid, 10.0):
                raise BrokerError(f"broker pid {pid} survived SIGKILL")
        self.pid_path.unlink(missing_ok=True)
        self._proc = None

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._alive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def kill(self) -> None:
        """SIGKILL the broker (no clean shutdown: its logs are left as a crash leaves them)."""
        pid = self._running_pid()
        if pid is not None:
            log.info("killing broker pid %d at %s", pid, self.bootstrap_servers)
            self._kill_quietly(pid)

    def _kill_quietly(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self._wait_exit(pid, 10.0)
        self.pid_path.unlink(missing_ok=True)
        self._proc = None

    def _any_running(self) -> bool:
        return self.status().running
