"""Fault injection through both bridges on a local three-node cluster: leaders and bridges SIGKILLed.

::

    input producer --> raw --[compress-bridge]--> packed --[decompress-bridge]--> restored --> checker

A local KRaft cluster of its own (:class:`streaming.cluster.LocalCluster`: ``--nodes`` combined broker +
controller nodes on free loopback ports, topics and internal topics with replication factor 3 and
``min.insync.replicas`` 2) and the two bridges as real processes (``python -m latentwire
compress-bridge|decompress-bridge``, fixed transactional ids so that a restarted copy fences the one it
replaces). While an idempotent ``acks=all`` producer writes ``--records`` float32 records (the digits,
tiled; key = index, partition = index mod P), the driver injects, in random order and at random moments:

* ``--leader-kills`` SIGKILLs of the node leading a partition of ``raw``, ``packed`` or ``restored`` (in
  turn), restarted after a few seconds with the log it had (replicas catch it up);
* ``--double-outages`` SIGKILLs of two nodes at once (the leader of a ``raw`` partition and another): the
  controller quorum and every partition's in-sync quorum are gone, producers block (and would fail loudly,
  never silently) until both nodes are back;
* ``--kills`` SIGKILLs of each bridge, each followed by a new copy as a supervisor would start one. With
  ``--at-least-once`` the bridge is killed exactly between flushing a batch and committing its input
  offsets (:mod:`streaming.failpoints`), so real duplicates happen; they are counted, and dropped by key
  on the reading side (:class:`consumers.repeats.DropRepeats`).

A bridge that exits on its own is restarted too, and counted. Afterwards a read-committed consumer of
``restored`` must see every input record exactly once (exactly-once mode; at least once: duplicates are
counted, loss still fails), each equal to the model's reconstruction of its input, and every partition
in input order. Recovery time of a fault = seconds from its injection (for the double outage: from both
nodes answering again) until a record written to the input after the injection arrives in ``restored``
(for a leader kill: in the partition whose leader was killed). End-to-end latency = arrival in
``restored`` minus the input record's timestamp; its p99 is reported for records written during a fault
(between injection and recovery) and outside.

Run: ``python -m benchmarks.fault_injection`` (100,000 records, 3 leader kills, 1 double outage,
3 SIGKILLs of each bridge; writes its figures into docs/reliability.md with ``--write-docs``).
``tests/integration/test_fault_injection.py`` runs smaller versions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GOLDEN_BUNDLE = REPO / "tests" / "golden" / "bundle_v1"
DOCS = REPO / "docs" / "reliability.md"
FAILPOINT = "bridge-before-commit"
#: seconds a (re)started node may take to answer (minutes on a crowded machine)
NODE_START_SECONDS = 300.0


@dataclass
class FaultConfig:
    records: int = 100_000
    partitions: int = 4
    nodes: int = 3
    leader_kills: int = 3
    double_outages: int = 1
    kills: int = 3  # SIGKILLs of each bridge
    exactly_once: bool = True
    seed: int = 7
    #: seconds between the end of one fault's recovery and the next fault (uniform in this range)
    gap: tuple[float, float] = (2.0, 6.0)
    #: seconds a killed node stays down (uniform in this range)
    down: tuple[float, float] = (2.0, 6.0)
    bundle: Path = GOLDEN_BUNDLE
    work_dir: Path | None = None
    heap: str = "384m"
    #: first estimate of the seconds one fault takes (re-estimated as they happen), to pace the input so
    #: that it keeps flowing until the last fault
    seconds_per_fault: float = 90.0
    timeout: float = 900.0

    def __post_init__(self) -> None:
        if self.double_outages and self.nodes < 3:
            raise ValueError("a double outage needs at least three nodes (two down, a quorum back)")


@dataclass
class Report:
    mode: str
    records: int
    partitions: int
    nodes: int
    faults: list[dict[str, Any]] = field(default_factory=list)
    crash_restarts: dict[str, int] = field(default_factory=dict)
    input_records: int = 0
    input_duplicates: int = 0
    #: sends the input producer saw fail (and sent again): loud, never silent
    input_send_failures: int = 0
    output_records: int = 0
    lost: int = 0
    duplicates: int = 0
    #: duplicates still there after a reader drops repeated keys (DropRepeats)
    duplicates_after_key_filter: int = 0
    out_of_order: int = 0
    value_mismatches: int = 0
    max_abs_error_vs_model: float = 0.0
    latency_p99_outside_faults: float = 0.0
    latency_p99_during_faults: float = 0.0
    latency_p50_outside_faults: float = 0.0
    seconds: float = 0.0
    #: the machine: CPU cores, and the 1-minute load average at the start and the end of the run
    cores: int = 0
    load_average: tuple[float, float] = (0.0, 0.0)


def _log(message: str) -> None:
    print(f"[fault-injection {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bridge:
    """One bridge kind; :meth:`start` launches a new copy (same transactional id) after a kill or crash."""

    def __init__(self, kind: str, args: list[str], bootstrap: str, log_dir: Path) -> None:
        self.kind, self.args, self.bootstrap, self.log_dir = kind, args, bootstrap, log_dir
        self.failpoints = log_dir / f"failpoints-{kind}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.generation = 0
        self.crashes = 0

    def start(self) -> None:
        self.generation += 1
        log = open(self.log_dir / f"{self.kind}-{self.generation}.log", "wb")  # noqa: SIM115 - owned by the child
        env = {
            **os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1",
            "LATENTWIRE_FAILPOINTS": str(self.failpoints),
        }  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "latentwire", "-v", self.kind, *self.args,
             "--bootstrap-servers", self.bootstrap, "--metrics-port", "0"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def kill_before_commit(self, timeout: float) -> bool:
        """Arm the failpoint between flush and offset commit and wait for the bridge to die there; False
        (and a plain SIGKILL) if it did not reach it within ``timeout`` seconds."""
        from streaming.failpoints import arm

        assert self.proc is not None
        arm(self.failpoints, FAILPOINT)
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            (self.failpoints / FAILPOINT).unlink(missing_ok=True)
            self.kill()
            return False

    def wait_started(self, timeout: float) -> bool:
        """Wait until the current copy logs that its loop runs (``<kind> bridge: IN -> OUT, ...``)."""
        path = self.log_dir / f"{self.kind}-{self.generation}.log"
        marker = f"{self.kind.split('-')[0]} bridge: ".encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc is not None and self.proc.poll() is None:
            if marker in path.read_bytes():
                return True
            time.sleep(0.2)
        return False

    def check(self) -> None:
        """Restart a copy that exited on its own (as a supervisor would)."""
        if self.proc is not None and self.proc.poll() is not None:
            self.crashes += 1
            _log(f"{self.kind} exited on its own (code {self.proc.returncode}); starting a new copy")
            self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


class Watcher(threading.Thread):
    """Every record of ``restored`` (read committed) as it arrives, with its arrival time."""

    def __init__(self, bootstrap: str, restored: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.restored = bootstrap, restored
        #: (partition, offset, key, value, input timestamp ms, arrival ms)
        self.output: list[tuple[int, int, bytes, bytes, int, float]] = []
        #: newest input timestamp (ms) seen per partition
        self.newest: dict[int, int] = defaultdict(int)
        self.stop_event = threading.Event()

    def run(self) -> None:
        from streaming.client_config import KafkaConfig
        from streaming.clients import make_consumer

        consumer = None
        while not self.stop_event.is_set():
            try:
                if consumer is None:
                    consumer = make_consumer(
                        KafkaConfig(self.bootstrap), self.restored, group_id=None,
                        auto_offset_reset="earliest", isolation_level="read_committed",
                        enable_auto_commit=False, max_poll_records=5000,
                    )  # fmt: skip
                for messages in consumer.poll(timeout_ms=200).values():
                    now = time.time() * 1000
                    for m in messages:
                        self.output.append((m.partition, m.offset, m.key, m.value, m.timestamp, now))
                        self.newest[m.partition] = max(self.newest[m.partition], m.timestamp)
            except Exception as exc:  # a node is down: try again
                _log(f"watcher: {type(exc).__name__}: {exc}")
                time.sleep(0.5)
        if consumer is not None:
            consumer.close()

    def wait_fresh(self, since_ms: float, partition: int | None, timeout: float) -> float | None:
        """Arrival time (wall ms) of the first record written at or after ``since_ms`` (in ``partition``,
        or any) to reach ``restored``, waiting up to ``timeout`` seconds for one; None if none came."""
        deadline = time.monotonic() + timeout
        while True:
            newest = (
                self.newest.get(partition, 0)
                if partition is not None
                else max(self.newest.values(), default=0)
            )
            if newest >= since_ms:
                return min(
                    arrived
                    for p, _, _, _, written, arrived in list(self.output)
                    if written >= since_ms and (partition is None or p == partition)
                )
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


class InputProducer(threading.Thread):
    """Writes ``total`` records (idempotent, ``acks=all``), paced to finish by :attr:`deadline` (which the
    driver moves as faults take their time), so that input keeps flowing while faults are injected. A
    send that fails is logged and sent again: the input may block, never drop a record."""

    def __init__(
        self, bootstrap: str, topic: str, records: np.ndarray, total: int, partitions: int, seconds: float
    ) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.records = bootstrap, topic, records
        self.total, self.partitions = total, partitions
        self.deadline = time.monotonic() + seconds
        self.sent = 0
        self.send_failures = 0
        self.unsent: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        from streaming.client_config import KafkaConfig
        from streaming.clients import make_producer

        try:
            producer = make_producer(
                KafkaConfig(self.bootstrap), acks="all", enable_idempotence=True,
                delivery_timeout_ms=120_000, request_timeout_ms=10_000,
            )  # fmt: skip
            pending = self._send_all(producer, range(self.total), paced=True)
            for _ in range(5):
                producer.flush(timeout=600)
                failed = [i for i, f in pending if not f.succeeded()]
                if not failed:
                    break
                self.send_failures += len(failed)
                _log(
                    f"input: {len(failed)} sends failed ({pending[0][1].exception!r}...); sending them again"
                )
                pending = self._send_all(producer, failed, paced=False)
            producer.flush(timeout=600)
            self.unsent = [i for i, f in pending if not f.succeeded()]
            producer.close()
        except BaseException as exc:
            self.error = exc

    def _send_all(self, producer: Any, indices: Any, *, paced: bool) -> list[tuple[int, Any]]:
        futures = []
        chunk = 200
        indices = list(indices)
        for start in range(0, len(indices), chunk):
            for i in indices[start : start + chunk]:
                row = self.records[i % len(self.records)]
                futures.append(
                    (i, producer.send(self.topic, key=str(i).encode(), value=row.tobytes(),
                                      partition=i % self.partitions))
                )  # fmt: skip
            if paced:
                self.sent = min(start + chunk, self.total)
                left = self.total - self.sent
                if left:  # spread what is left evenly over the time left
                    time.sleep(min(max(self.deadline - time.monotonic(), 0.0) * chunk / left, 10.0))
        return futures


def _free_ports(n: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _topics(bootstrap: str, names: list[str], partitions: int, replication: int) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(n, partitions, replication) for n in names], wait_for_metadata=True)
    finally:
        admin.close()


def _read_input_keys(bootstrap: str, topic: str, expected: int) -> Counter[int]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    keys: Counter[int] = Counter()
    deadline = time.monotonic() + 120
    quiet_until = None
    try:
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500, max_records=20_000)
            for messages in batch.values():
                keys.update(int(m.key) for m in messages)
            if sum(keys.values()) >= expected:
                quiet_until = quiet_until or time.monotonic() + 2
                if time.monotonic() > quiet_until:
                    break
    finally:
        consumer.close()
    return keys


class Driver:
    """Injects one fault at a time into the cluster and the bridges and times the stream's recovery."""

    def __init__(
        self, config: FaultConfig, cluster: Any, bridges: dict[str, Bridge], watcher: Watcher,
        topics: tuple[str, str, str], rng: random.Random, input_producer: InputProducer,
    ) -> None:  # fmt: skip
        self.config, self.cluster, self.bridges, self.watcher = config, cluster, bridges, watcher
        self.input = input_producer
        self.topics, self.rng = topics, rng
        self.leader_kills = 0

    def pause(self, seconds: float) -> None:
        _pause(seconds, *self.bridges.values())

    def inject(self, kind: str) -> dict[str, Any]:
        """Inject one fault; return its record (what, when, how long the stream took to recover)."""
        started = time.monotonic()
        injected_ms = time.time() * 1000
        partition: int | None = None
        back_ms = injected_ms
        if kind == "leader":
            topic = self.topics[self.leader_kills % len(self.topics)]
            self.leader_kills += 1
            partition = self.rng.randrange(self.config.partitions)
            node = self.cluster.leader(topic, partition)
            what = f"SIGKILL node {node}, leader of {topic.rsplit('-', 1)[1]}[{partition}]"
            injected_ms = time.time() * 1000
            self.cluster.kill(node)
            self.pause(self.rng.uniform(*self.config.down))
            self.cluster.start_node(node, timeout=NODE_START_SECONDS)
        elif kind == "double":
            partition = self.rng.randrange(self.config.partitions)
            first = self.cluster.leader(self.topics[0], partition)
            second = self.rng.choice([n for n in self.cluster.brokers if n != first])
            what = f"SIGKILL nodes {first} and {second} together (one leads raw[{partition}])"
            injected_ms = time.time() * 1000
            self.cluster.kill(first)
            self.cluster.kill(second)
            self.pause(self.rng.uniform(*self.config.down))
            for node in (first, second):
                self.cluster.node(node).launch()
            for node in (first, second):
                self.cluster.node(node).wait_ready(NODE_START_SECONDS)
            back_ms = time.time() * 1000
        else:
            bridge = self.bridges[kind]
            if self.config.exactly_once:
                what = f"SIGKILL {kind}-bridge"
                bridge.kill()
            elif bridge.kill_before_commit(timeout=60):
                what = f"SIGKILL {kind}-bridge between produce and offset commit"
            else:
                what = f"SIGKILL {kind}-bridge (the failpoint was not reached in 60 s)"
            bridge.start()
        fault_seconds = time.monotonic() - started
        arrived = self.watcher.wait_fresh(back_ms, partition, timeout=30)
        while arrived is None and self.input.is_alive() and time.monotonic() - started < self.config.timeout:
            for b in self.bridges.values():
                b.check()
            arrived = self.watcher.wait_fresh(back_ms, partition, timeout=30)
        record = {
            "fault": what,
            "fault_seconds": round(fault_seconds, 1),
            "recovery_seconds": None if arrived is None else round((arrived - back_ms) / 1000, 1),
            "window_ms": (injected_ms, arrived if arrived is not None else time.time() * 1000),
        }
        _log(f"fault {record}")
        return record


def run(config: FaultConfig) -> Report:
    from sklearn.datasets import load_digits

    from compressor.bundle import load_bundle
    from compressor.codec import Codec
    from streaming.cluster import ClusterConfig, LocalCluster

    rng = random.Random(config.seed)
    work = Path(config.work_dir or tempfile.mkdtemp(prefix="latentwire-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    ports = _free_ports(2 * config.nodes)
    cluster_config = ClusterConfig(
        nodes=config.nodes, ports=tuple(zip(ports[::2], ports[1::2], strict=True)), dir=work / "cluster",
        heap=config.heap,
    )  # fmt: skip
    cluster = LocalCluster(cluster_config)
    cluster.start(timeout=NODE_START_SECONDS)
    bootstrap = cluster.bootstrap_servers
    run_id = uuid.uuid4().hex[:8]
    raw, packed, restored = (f"faults-{run_id}-{n}" for n in ("raw", "packed", "restored"))
    _topics(bootstrap, [raw, packed, restored], config.partitions, cluster_config.replication)
    digits = load_digits().data.astype(np.float32)
    bundle = load_bundle(config.bundle)
    expected_rows = Codec(bundle).encode(digits).decoded
    mode = [] if config.exactly_once else ["--at-least-once"]
    bridges = {
        "compress": Bridge(
            "compress-bridge",
            ["--model", str(config.bundle), "--input-topic", raw, "--output-topic", packed,
             "--input-format", "f32", "--transactional-id", f"faults-{run_id}-compress", *mode],
            bootstrap, work,
        ),
        "decompress": Bridge(
            "decompress-bridge",
            ["--model", str(config.bundle), "--no-registry", "--input-topic", packed,
             "--output-topic", restored, "--transactional-id", f"faults-{run_id}-decompress", *mode],
            bootstrap, work,
        ),
    }  # fmt: skip
    report = Report(
        "exactly once" if config.exactly_once else "at least once",
        config.records, config.partitions, config.nodes,
    )  # fmt: skip
    faults = (
        ["leader"] * config.leader_kills + ["double"] * config.double_outages
        + ["compress"] * config.kills + ["decompress"] * config.kills
    )  # fmt: skip
    rng.shuffle(faults)
    per_fault = config.seconds_per_fault
    watcher = Watcher(bootstrap, restored)
    producer = InputProducer(
        bootstrap, raw, digits, config.records, config.partitions, 30.0 + per_fault * len(faults)
    )
    driver = Driver(config, cluster, bridges, watcher, (raw, packed, restored), rng, producer)
    started = time.monotonic()
    report.cores, load_at_start = os.cpu_count() or 0, os.getloadavg()[0]
    try:
        for bridge in bridges.values():
            bridge.start()
        for bridge in bridges.values():  # input written before the bridges run would only measure start-up
            if not bridge.wait_started(timeout=300):
                raise RuntimeError(f"{bridge.kind} did not start; see {work}/{bridge.kind}-1.log")
        watcher.start()
        producer.start()
        _log(f"cluster {bootstrap}, {config.records} records, faults {faults}, work dir {work}")
        while not watcher.output and time.monotonic() - started < 300:  # the pipeline flows
            driver.pause(0.5)
        producer.deadline = time.monotonic() + per_fault * len(faults) + 10.0  # input spans every fault
        for done, kind in enumerate(faults):
            cycle = time.monotonic()
            driver.pause(rng.uniform(*config.gap))
            sent = producer.sent
            record = driver.inject(kind)
            record["at_seconds"] = round(cycle - started, 1)
            record["input_sent"] = sent
            report.faults.append(record)
            # keep the input flowing until the last fault: re-estimate the time the rest will take
            per_fault = max(per_fault, time.monotonic() - cycle)
            producer.deadline = time.monotonic() + per_fault * (len(faults) - done - 1) + 10.0
        producer.join(timeout=config.timeout)
        if producer.error is not None:
            raise RuntimeError(f"the input producer failed: {producer.error!r}")
        if producer.unsent:
            raise RuntimeError(f"the input producer could not send {len(producer.unsent)} records")
        deadline = time.monotonic() + config.timeout
        while len({k for _, _, k, *_ in watcher.output}) < config.records and time.monotonic() < deadline:
            driver.pause(1.0)
        time.sleep(3.0)  # late duplicates would show up here
    finally:
        for bridge in bridges.values():
            bridge.stop()
        watcher.stop_event.set()
        if watcher.ident is not None:
            watcher.join(timeout=30)
        report.seconds = round(time.monotonic() - started, 1)
        report.load_average = (round(load_at_start, 1), round(os.getloadavg()[0], 1))
        report.crash_restarts = {f"{k}-bridge": b.crashes for k, b in bridges.items()}
        report.input_send_failures = producer.send_failures
        try:
            inputs = _read_input_keys(bootstrap, raw, config.records)
        finally:
            cluster.stop()
    _check(report, inputs, watcher.output, expected_rows, digits)
    return report


def _pause(seconds: float, *bridges: Bridge) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for bridge in bridges:
            bridge.check()
        time.sleep(min(0.2, max(end - time.monotonic(), 0)))


def _check(
    report: Report, inputs: Counter[int], output: list[tuple[int, int, bytes, bytes, int, float]],
    expected_rows: np.ndarray, digits: np.ndarray,
) -> None:  # fmt: skip
    from consumers.repeats import DropRepeats

    report.input_records = len(inputs)
    report.input_duplicates = sum(n - 1 for n in inputs.values())
    seen: Counter[int] = Counter()
    by_partition: dict[int, list[tuple[int, int]]] = defaultdict(list)
    worst = 0.0
    mismatches = 0
    for partition, offset, key, value, _, _ in output:
        index = int(key)
        seen[index] += 1
        by_partition[partition].append((offset, index))
        got = np.frombuffer(value, dtype="<f4")
        want = expected_rows[index % len(digits)]
        error = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
        worst = max(worst, error)
        mismatches += error > 1e-3
    report.output_records = len(output)
    report.lost = len(set(range(report.records)) - set(seen))
    report.duplicates = sum(n - 1 for n in seen.values()) - report.input_duplicates
    report.value_mismatches = int(mismatches)
    report.max_abs_error_vs_model = worst
    out_of_order = 0
    reader = DropRepeats()
    kept: Counter[int] = Counter()
    for partition, pairs in by_partition.items():
        pairs.sort()
        last, first_seen = -1, set()
        for _, index in pairs:
            if reader.keep(partition, index):
                kept[index] += 1
            if index in first_seen:  # a duplicate (at least once): its first copy was checked
                continue
            first_seen.add(index)
            if index < last:
                out_of_order += 1
            last = max(last, index)
    report.out_of_order = out_of_order
    report.duplicates_after_key_filter = sum(n - 1 for n in kept.values()) - report.input_duplicates
    _latencies(report, output)


def _latencies(report: Report, output: list[tuple[int, int, bytes, bytes, int, float]]) -> None:
    """p99 (and p50) of arrival minus input timestamp, for records written during a fault and outside."""
    windows = [f.pop("window_ms") for f in report.faults]
    written = np.array([ts for *_, ts, _ in output], dtype=np.float64)
    latency = (np.array([arrived for *_, arrived in output], dtype=np.float64) - written) / 1000
    during = np.zeros(len(output), dtype=bool)
    for start, end in windows:
        during |= (written >= start) & (written <= end)
    if (~during).any():
        report.latency_p99_outside_faults = round(float(np.percentile(latency[~during], 99)), 2)
        report.latency_p50_outside_faults = round(float(np.percentile(latency[~during], 50)), 2)
    if during.any():
        report.latency_p99_during_faults = round(float(np.percentile(latency[during], 99)), 2)


def markdown(report: Report, command: str) -> str:
    from benchmarks.report import markdown_table

    rows = [
        [f["fault"], f["at_seconds"], f["fault_seconds"], f["recovery_seconds"], f["input_sent"]]
        for f in report.faults
    ]
    table = markdown_table(
        [
            "fault",
            "injected at (s)",
            "fault lasted (s)",
            "recovered after (s)",
            "input records sent before it",
        ],
        rows,
    )
    recoveries = [f["recovery_seconds"] for f in report.faults if f["recovery_seconds"] is not None]
    median = float(np.median(recoveries)) if recoveries else float("nan")
    worst = max(recoveries) if recoveries else float("nan")
    leaders = [f["recovery_seconds"] for f in report.faults if "leader of" in f["fault"]]
    after_leader_kills = (
        f" After a leader kill: {', '.join(f'{r:.1f}' if r is not None else 'none' for r in leaders)} s."
        if leaders
        else ""
    )
    repeats = (
        ""
        if report.mode == "exactly once"
        else f" A reader dropping repeated keys is left with {report.duplicates_after_key_filter} duplicates."
    )
    return (
        f"Last run ({time.strftime('%Y-%m-%d')}, {report.mode}, {report.nodes} nodes, "
        f"{report.partitions} partitions, {report.seconds:.0f} s; {report.cores} CPU cores shared with "
        f"other work, load average {report.load_average[0]:g} at the start and "
        f"{report.load_average[1]:g} at the end): **{report.records:,} records, "
        f"{len(report.faults)} faults, {report.lost} lost, {report.duplicates} duplicates, "
        f"{report.out_of_order} out of partition order**, {report.value_mismatches} values off the model's "
        f"reconstruction (largest difference {report.max_abs_error_vs_model:.2g}); input sends that failed "
        f"and were sent again: {report.input_send_failures}; bridges that exited on their own and were "
        f"restarted: {report.crash_restarts}.{repeats} Recovery: median {median:.1f} s, worst {worst:.1f} s."
        f"{after_leader_kills} "
        f"End-to-end latency p99: **{report.latency_p99_outside_faults:.2f} s outside faults** "
        f"(p50 {report.latency_p50_outside_faults:.2f} s), **{report.latency_p99_during_faults:.2f} s "
        f"for records written during a fault**."
        f"\n\n{table}\n\nReproduce: `{command}`"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--leader-kills", type=int, default=3)
    parser.add_argument("--double-outages", type=int, default=1)
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of each bridge")
    parser.add_argument("--at-least-once", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument(
        "--write-docs", action="store_true", help="write the figures into docs/reliability.md"
    )
    parser.add_argument(
        "--docs-section", default=None,
        help="the section of docs/reliability.md to write (default: fault-injection-eos or -alo)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    config = FaultConfig(
        records=args.records, partitions=args.partitions, nodes=args.nodes, leader_kills=args.leader_kills,
        double_outages=args.double_outages, kills=args.kills, exactly_once=not args.at_least_once,
        seed=args.seed, work_dir=args.work_dir,
    )  # fmt: skip
    report = run(config)
    print(json.dumps(asdict(report), indent=2))
    if args.write_docs:
        from benchmarks.report import replace_section

        given = list(argv if argv is not None else sys.argv[1:])
        for option in ("--work-dir", "--docs-section"):  # neither says anything about how to reproduce
            if option in given:
                del given[given.index(option) : given.index(option) + 2]
        command = " ".join(
            ["python -m benchmarks.fault_injection", *(a for a in given if a != "--write-docs")]
        )
        section = args.docs_section or (
            "fault-injection-eos" if config.exactly_once else "fault-injection-alo"
        )
        replace_section(section, markdown(report, command), DOCS)
    return 0 if passed(report) else 1


def passed(report: Report) -> bool:
    """The targets: nothing lost, nothing out of order, every value right, every fault recovered from;
    no duplicate in exactly-once mode, none left after dropping repeated keys in at-least-once mode."""
    ok = report.lost == 0 and report.out_of_order == 0 and report.value_mismatches == 0
    ok = ok and all(f["recovery_seconds"] is not None for f in report.faults)
    duplicates = report.duplicates if report.mode == "exactly once" else report.duplicates_after_key_filter
    return ok and duplicates == 0


if __name__ == "__main__":
    sys.exit(main())
