"""Run a local Kafka cluster of several KRaft nodes on the loopback (three by default).

Every node is a combined broker + controller (:class:`streaming.broker.LocalBroker`) from the same
Maven-resolved jars, with its own client and controller port on 127.0.0.1 and its own directory; the
controllers form one static quorum (a voter per node), so the cluster keeps working, and electing
partition leaders, while a majority of its nodes runs. Internal topics (consumer offsets, transaction
state) and new topics get replication factor 3 and ``min.insync.replicas`` 2 (with fewer nodes: as many
replicas as nodes, and 1), so a producer with ``acks=all`` is acknowledged only once two nodes hold a record.

Two settings make a lost node cost seconds rather than tens of seconds on a small machine, where three
JVMs share a couple of cores: the controllers fence a node after 5 s without a heartbeat (Kafka's
default: 9 s), and the internal topics have 10 partitions each instead of 50, so a node's death moves 20
internal partition leaders, not 100, and each new coordinator has little to load.

Layout of a cluster directory (default ``~/.cache/latentwire/cluster-<port>``)::

    cluster.id      the KRaft cluster id every node's storage is formatted with
    node-<i>/       node i (1, 2, ...): server.properties, data/, broker.log, broker.pid (see broker.py)
    tls/            with ``secure``: one CA and one certificate for 127.0.0.1, shared by every node

Node i listens for clients on ``port + 2 (i - 1)`` and for its controller on the port after that,
unless :attr:`ClusterConfig.ports` says otherwise. With ``secure``, every node speaks SASL_SSL to clients
(PLAIN and SCRAM-SHA-512, credentials created when storage is formatted) and authorizes with ACLs
(:mod:`streaming.acls`).

Typical use::

    with LocalCluster(ClusterConfig(port=19092)) as cluster:
        produce(cluster.bootstrap_servers)      # "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
        cluster.kill(cluster.leader("raw", 0))  # SIGKILL the leader of raw[0]; another node takes over
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from compressor.errors import BrokerError, ConfigError
from streaming.broker import (
    DEFAULT_MESSAGE_MAX_BYTES,
    HOST,
    BrokerConfig,
    BrokerStatus,
    Detached,
    LocalBroker,
    cache_root,
    generate_cluster_id,
)

__all__ = ["ClusterConfig", "LocalCluster"]

log = logging.getLogger(__name__)

#: replicas of internal and new topics when the cluster has at least this many nodes
REPLICATION = 3
#: ``min.insync.replicas`` with :data:`REPLICATION` replicas
MIN_INSYNC = 2


#: partitions of ``__consumer_offsets`` and ``__transaction_state`` in a local cluster (Kafka's: 50)
INTERNAL_PARTITIONS = 10
#: ms without a heartbeat after which the controllers fence a node (Kafka's: 9000); the nodes heartbeat
#: every quarter of it, and a controller's followers stand for election after a third of it
SESSION_TIMEOUT_MS = 3000

#: settings every node of a cluster takes from the cluster's own
_SHARED_BY_NODES = (
    "heap", "message_max_bytes", "secure", "user", "password", "users", "internal_partitions",
    "session_timeout_ms",
)  # fmt: skip


@dataclass(frozen=True)
class ClusterConfig:
    """Where and how a local cluster runs.

    Arguments:
        nodes (int): how many combined broker + controller nodes (at least 1). Default: 3.
        port (int): client port of node 1; node i uses ``port + 2 (i - 1)`` for clients and the next port
            for its controller. Default: 9092.
        ports (tuple[tuple[int, int], ...]): the ``(client, controller)`` ports of every node instead
            (tests pick free ones). Default: ``()``, from ``port``.
        dir (Path | None): the cluster directory. Default: None, ``<cache root>/cluster-<port>``.
        heap (str): JVM ``-Xmx`` of each node. Default: ``"384m"``.
        message_max_bytes (int): the nodes' ``message.max.bytes``. Default: 1048588 (Kafka's).
        secure (bool): as in :class:`~streaming.broker.BrokerConfig`, for every node. Default: False.
        user (str): the super user (``secure`` only). Default: ``"latentwire"``.
        password (str | None): its password (``secure`` only; required then). Default: None.
        users (tuple[tuple[str, str], ...]): more users, who get only what ACLs grant them. Default: ``()``.
        internal_partitions (int): partitions of the internal topics (see the module docstring).
            Default: 10.
        session_timeout_ms (int): how long the controllers wait for a node's heartbeat before fencing it
            and electing new leaders for its partitions. Default: 3000.
    """

    nodes: int = 3
    port: int = 9092
    ports: tuple[tuple[int, int], ...] = ()
    dir: Path | None = None
    heap: str = "384m"
    message_max_bytes: int = DEFAULT_MESSAGE_MAX_BYTES
    secure: bool = False
    user: str = "latentwire"
    password: str | None = field(default=None, repr=False, compare=False)
    users: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)
    internal_partitions: int = INTERNAL_PARTITIONS
    session_timeout_ms: int = SESSION_TIMEOUT_MS

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise ConfigError(f"a cluster needs at least one node, got {self.nodes}")
        ports = self.ports or tuple((self.port + 2 * i, self.port + 2 * i + 1) for i in range(self.nodes))
        if len(ports) != self.nodes:
            raise ConfigError(f"{len(ports)} port pairs given for {self.nodes} nodes")
        flat = [p for pair in ports for p in pair]
        if len(set(flat)) != len(flat):
            raise ConfigError(f"the nodes' ports must all differ, got {ports}")
        directory = cache_root() / f"cluster-{ports[0][0]}" if self.dir is None else Path(self.dir)
        object.__setattr__(self, "ports", tuple(ports))
        object.__setattr__(self, "dir", directory.expanduser().absolute())
        self.node_configs()  # validates ports, heap and credentials now rather than at start

    @property
    def replication(self) -> int:
        return min(self.nodes, REPLICATION)

    @property
    def min_insync(self) -> int:
        return MIN_INSYNC if self.replication >= REPLICATION else 1

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{HOST}:{client}" for client, _ in self.ports)

    def node_configs(self) -> dict[int, BrokerConfig]:
        """The configuration of every node, by node id (1, 2, ...)."""
        voters = tuple((i + 1, controller) for i, (_, controller) in enumerate(self.ports))
        root = cast(Path, self.dir)
        shared = {name: getattr(self, name) for name in _SHARED_BY_NODES}
        return {
            node: BrokerConfig(
                port=client,
                controller_port=controller,
                dir=root / f"node-{node}",
                node_id=node,
                voters=voters,
                replication=self.replication,
                min_insync=self.min_insync,
                tls=root / "tls",
                **shared,
            )  # fmt: skip
            for node, ((client, _), (_, controller)) in enumerate(zip(self.ports, voters, strict=True), 1)
        }

    def client_config(self) -> dict[str, object]:
        """kafka-python settings to connect to the cluster as the super user."""
        config = self.node_configs()[1].client_config()
        config["bootstrap_servers"] = self.bootstrap_servers
        return config


class LocalCluster(Detached):
    """Several KRaft nodes on 127.0.0.1 run detached from this process (see the module docstring).

    ``start``, ``stop`` and ``status`` work across processes, through each node's pid file; ``kill`` and
    ``start_node`` act on one node, for fault injection.

    Arguments:
        config (ClusterConfig): where and how the nodes run.
    """

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.dir = cast(Path, config.dir)
        self.id_path = self.dir / "cluster.id"
        self.brokers = {node: LocalBroker(cfg) for node, cfg in config.node_configs().items()}

    def __repr__(self) -> str:
        return f"LocalCluster({self.bootstrap_servers}, dir={self.dir})"

    @property
    def bootstrap_servers(self) -> str:
        return self.config.bootstrap_servers

    def node(self, node_id: int) -> LocalBroker:
        try:
            return self.brokers[node_id]
        except KeyError:
            raise BrokerError(f"no node {node_id} in a cluster of nodes {sorted(self.brokers)}") from None

    def status(self) -> dict[int, BrokerStatus]:
        return {node: broker.status() for node, broker in self.brokers.items()}

    def _cluster_id(self) -> str:
        if self.id_path.is_file():
            return self.id_path.read_text().strip()
        self.dir.mkdir(parents=True, exist_ok=True)
        cluster_id = generate_cluster_id()
        self.id_path.write_text(cluster_id + "\n")
        return cluster_id

    # --------------------------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 120.0) -> None:
        """Start every node that is not running and wait until all of them answer."""
        cluster_id = self._cluster_id()
        for broker in self.brokers.values():
            broker.cluster_id = cluster_id
        launched = []
        try:
            for broker in self.brokers.values():
                if not broker.status().running:
                    broker.launch()
                    launched.append(broker)
            self._wait_all(timeout)
        except BaseException:  # never leave half a cluster behind
            for broker in launched:
                broker.kill()
            raise
        log.info("cluster of %d nodes running at %s", len(self.brokers), self.bootstrap_servers)

    def _wait_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for broker in self.brokers.values():
            broker.wait_ready(max(deadline - time.monotonic(), 1.0))

    def stop(self, timeout: float = 30.0) -> None:
        """Shut every node down together (one by one, the last would wait for a quorum that is gone)."""
        with ThreadPoolExecutor(max_workers=len(self.brokers)) as pool:
            for future in [pool.submit(b.stop, timeout) for b in self.brokers.values()]:
                future.result()

    def kill(self, node_id: int) -> None:
        """SIGKILL one node."""
        self.node(node_id).kill()

    def start_node(self, node_id: int, timeout: float = 120.0) -> None:
        """Start one node again (after :meth:`kill` or :meth:`stop`) and wait until it answers."""
        broker = self.node(node_id)
        broker.cluster_id = self._cluster_id()
        broker.launch()
        broker.wait_ready(timeout)

    def leader(self, topic: str, partition: int, timeout: float = 30.0) -> int:
        """Node id of the current leader of ``topic[partition]``, from a fresh metadata request."""
        from kafka.admin import KafkaAdminClient

        deadline = time.monotonic() + timeout
        while True:
            admin = KafkaAdminClient(**self.config.client_config(), client_id="latentwire-cluster-probe")
            try:
                for entry in admin.describe_topics([topic]):
                    for part in entry.get("partitions", []):
                        if part["partition_index"] == partition and part["leader_id"] in self.brokers:
                            return int(part["leader_id"])
            finally:
                admin.close()
            if time.monotonic() >= deadline:
                raise BrokerError(f"{topic}[{partition}] has no leader after {timeout:g} s")
            time.sleep(0.5)

    def _any_running(self) -> bool:
        return any(s.running for s in self.status().values())
