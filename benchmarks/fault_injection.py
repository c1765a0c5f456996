"""Fault injection through both bridges: broker restarts and SIGKILLed bridges while records stream.

::

    input producer --> raw --[compress-bridge]--> packed --[decompress-bridge]--> restored --> checker

A local broker of its own (free loopback ports, a fresh directory whose data survives its restarts) and
the two bridges as real processes (``python -m latentwire compress-bridge|decompress-bridge``, fixed
transactional ids so that a restarted copy fences the one it replaces). While an idempotent producer
writes ``--records`` float32 records (the digits, tiled; key = index, partition = index mod P), the driver
injects, in random order and at random moments, ``--broker-restarts`` broker stop/starts and
``--kills`` SIGKILLs of each bridge (each followed by a new copy, as a supervisor would start one). A
bridge that exits on its own is restarted too, and counted.

Afterwards a read-committed consumer of ``restored`` must see every input record exactly once
(exactly-once mode; with ``--at-least-once`` duplicates are counted, loss still fails), each equal to
the model's reconstruction of its input, and every partition in input order. Recovery time of a fault =
seconds from the end of the fault (broker answering again, new bridge process started) until the stage
it hit (``packed`` for the compress bridge, ``restored`` otherwise) moves again.

Run: ``python -m benchmarks.fault_injection`` (100,000 records, 3 faults of each kind; writes its figures
into docs/reliability.md with ``--write-docs``). The slow test ``tests/integration/test_fault_injection.py``
runs a smaller version.
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


@dataclass
class FaultConfig:
    records: int = 100_000
    partitions: int = 4
    broker_restarts: int = 3
    kills: int = 3  # SIGKILLs of each bridge
    exactly_once: bool = True
    seed: int = 7
    #: seconds between the end of one fault's recovery and the next fault (uniform in this range)
    gap: tuple[float, float] = (2.0, 6.0)
    #: seconds the broker stays down (uniform in this range)
    down: tuple[float, float] = (1.0, 5.0)
    bundle: Path = GOLDEN_BUNDLE
    work_dir: Path | None = None
    #: first estimate of the seconds one fault takes (re-estimated as they happen), to pace the input so
    #: that it keeps flowing until the last fault
    seconds_per_fault: float = 50.0
    timeout: float = 900.0


@dataclass
class Report:
    mode: str
    records: int
    partitions: int
    faults: list[dict[str, Any]] = field(default_factory=list)
    crash_restarts: dict[str, int] = field(default_factory=dict)
    input_records: int = 0
    input_duplicates: int = 0
    output_records: int = 0
    lost: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    value_mismatches: int = 0
    max_abs_error_vs_model: float = 0.0
    seconds: float = 0.0


def _log(message: str) -> None:
    print(f"[fault-injection {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bridge:
    """One bridge kind; :meth:`start` launches a new copy (same transactional id) after a kill or crash."""

    def __init__(self, kind: str, args: list[str], bootstrap: str, log_dir: Path) -> None:
        self.kind, self.args, self.bootstrap, self.log_dir = kind, args, bootstrap, log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.generation = 0
        self.crashes = 0

    def start(self) -> None:
        self.generation += 1
        log = open(self.log_dir / f"{self.kind}-{self.generation}.log", "wb")  # noqa: SIM115 - owned by the child
        env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1"}
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
    """Read-committed counts of ``packed`` and every record of ``restored``, as they arrive."""

    def __init__(self, bootstrap: str, packed: str, restored: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.packed, self.restored = bootstrap, packed, restored
        self.counts: Counter[str] = Counter()
        self.output: list[tuple[int, int, bytes, bytes]] = []  # (partition, offset, key, value)
        self.stop_event = threading.Event()

    def run(self) -> None:
        from streaming.client_config import KafkaConfig
        from streaming.clients import make_consumer

        consumer = None
        while not self.stop_event.is_set():
            try:
                if consumer is None:
                    consumer = make_consumer(
                        KafkaConfig(self.bootstrap), self.packed, self.restored, group_id=None,
                        auto_offset_reset="earliest", isolation_level="read_committed",
                        enable_auto_commit=False, max_poll_records=5000,
                    )  # fmt: skip
                for tp, messages in consumer.poll(timeout_ms=200).items():
                    self.counts[tp.topic] += len(messages)
                    if tp.topic == self.restored:
                        self.output.extend((m.partition, m.offset, m.key, m.value) for m in messages)
            except Exception as exc:  # the broker is being restarted: try again
                _log(f"watcher: {type(exc).__name__}: {exc}")
                time.sleep(0.5)
        if consumer is not None:
            consumer.close()

    def wait_progress(self, topic: str, since: int, timeout: float) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.counts[topic] > since:
                return time.monotonic() - started
            time.sleep(0.05)
        return None


class InputProducer(threading.Thread):
    """Writes ``total`` records, paced to finish by :attr:`deadline` (which the driver moves as faults take
    their time), so that input keeps flowing while faults are injected."""

    def __init__(
        self, bootstrap: str, topic: str, records: np.ndarray, total: int, partitions: int, seconds: float
    ) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.records = bootstrap, topic, records
        self.total, self.partitions = total, partitions
        self.deadline = time.monotonic() + seconds
        self.sent = 0
        self.failed: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        from streaming.client_config import KafkaConfig
        from streaming.clients import make_producer

        try:
            producer = make_producer(
                KafkaConfig(self.bootstrap),
                acks="all",
                delivery_timeout_ms=300_000,
                request_timeout_ms=10_000,
            )
            futures = []
            chunk = 200
            for start in range(0, self.total, chunk):
                for i in range(start, min(start + chunk, self.total)):
                    row = self.records[i % len(self.records)]
                    futures.append(
                        (i, producer.send(self.topic, key=str(i).encode(), value=row.tobytes(),
                                          partition=i % self.partitions))
                    )  # fmt: skip
                self.sent = min(start + chunk, self.total)
                left = self.total - self.sent
                if left:  # spread what is left evenly over the time left
                    time.sleep(min(max(self.deadline - time.monotonic(), 0.0) * chunk / left, 2.0))
            producer.flush(timeout=600)
            self.failed = [i for i, f in futures if not f.succeeded()]
            producer.close()
        except BaseException as exc:
            self.error = exc


def _free_port_pair() -> tuple[int, int]:
    import socket

    sockets = [socket.socket() for _ in range(2)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return sockets[0].getsockname()[1], sockets[1].getsockname()[1]
    finally:
        for sock in sockets:
            sock.close()


def _topics(bootstrap: str, names: list[str], partitions: int) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(n, partitions, 1) for n in names], wait_for_metadata=True)
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


def run(config: FaultConfig) -> Report:
    from sklearn.datasets import load_digits

    from compressor.bundle import load_bundle
    from compressor.codec import Codec
    from streaming.broker import BrokerConfig, LocalBroker

    rng = random.Random(config.seed)
    work = Path(config.work_dir or tempfile.mkdtemp(prefix="latentwire-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    port, controller = _free_port_pair()
    broker = LocalBroker(
        BrokerConfig(port=port, controller_port=controller, dir=work / "broker", heap="384m")
    )
    broker.start(timeout=120)
    bootstrap = broker.bootstrap_servers
    run_id = uuid.uuid4().hex[:8]
    raw, packed, restored = (f"faults-{run_id}-{n}" for n in ("raw", "packed", "restored"))
    _topics(bootstrap, [raw, packed, restored], config.partitions)
    digits = load_digits().data.astype(np.float32)
    bundle = load_bundle(config.bundle)
    expected_rows = Codec(bundle).encode(digits).decoded
    mode = [] if config.exactly_once else ["--at-least-once"]
    compress = Bridge(
        "compress-bridge",
        ["--model", str(config.bundle), "--input-topic", raw, "--output-topic", packed,
         "--input-format", "f32", "--transactional-id", f"faults-{run_id}-compress", *mode],
        bootstrap, work,
    )  # fmt: skip
    decompress = Bridge(
        "decompress-bridge",
        ["--model", str(config.bundle), "--no-registry", "--input-topic", packed, "--output-topic", restored,
         "--transactional-id", f"faults-{run_id}-decompress", *mode],
        bootstrap, work,
    )  # fmt: skip
    report = Report(
        "exactly once" if config.exactly_once else "at least once", config.records, config.partitions
    )
    faults = ["broker"] * config.broker_restarts + ["compress"] * config.kills + ["decompress"] * config.kills
    rng.shuffle(faults)
    per_fault = config.seconds_per_fault
    watcher = Watcher(bootstrap, packed, restored)
    producer = InputProducer(
        bootstrap, raw, digits, config.records, config.partitions, 30.0 + per_fault * len(faults)
    )
    started = time.monotonic()
    try:
        compress.start()
        decompress.start()
        watcher.start()
        producer.start()
        _log(f"broker {bootstrap}, {config.records} records, faults {faults}, work dir {work}")
        while watcher.counts[restored] == 0 and time.monotonic() - started < 300:  # the pipeline flows
            _pause(0.5, compress, decompress)
        for done, kind in enumerate(faults):
            cycle = time.monotonic()
            _pause(rng.uniform(*config.gap), compress, decompress)
            stage = packed if kind == "compress" else restored
            injected = time.monotonic()
            sent_at_fault = producer.sent
            if kind == "broker":
                broker.stop()
                _pause(rng.uniform(*config.down), compress, decompress)
                broker.start(timeout=120)
            else:
                bridge = compress if kind == "compress" else decompress
                bridge.kill()
                bridge.start()
            back = time.monotonic()
            recovery = watcher.wait_progress(stage, watcher.counts[stage], timeout=180)
            while recovery is None and producer.is_alive():
                compress.check(), decompress.check()
                recovery = watcher.wait_progress(stage, watcher.counts[stage], timeout=30)
            report.faults.append({
                "fault": "broker restart" if kind == "broker" else f"SIGKILL {kind}-bridge",
                "at_seconds": round(injected - started, 1),
                "fault_seconds": round(back - injected, 1),
                "recovery_seconds": None if recovery is None else round(recovery, 1),
                "input_sent": sent_at_fault,
            })  # fmt: skip
            _log(f"fault {report.faults[-1]}")
            # keep the input flowing until the last fault: re-estimate the time the rest will take
            per_fault = max(per_fault, time.monotonic() - cycle)
            producer.deadline = time.monotonic() + per_fault * (len(faults) - done - 1) + 10.0
        producer.join(timeout=config.timeout)
        if producer.error is not None:
            raise RuntimeError(f"the input producer failed: {producer.error!r}")
        expected = config.records - len(producer.failed)
        deadline = time.monotonic() + config.timeout
        while len({k for _, _, k, _ in watcher.output}) < expected and time.monotonic() < deadline:
            _pause(1.0, compress, decompress)
        time.sleep(3.0)  # late duplicates would show up here
    finally:
        compress.stop()
        decompress.stop()
        watcher.stop_event.set()
        watcher.join(timeout=30)
        report.seconds = round(time.monotonic() - started, 1)
        report.crash_restarts = {"compress-bridge": compress.crashes, "decompress-bridge": decompress.crashes}
        inputs = _read_input_keys(bootstrap, raw, config.records - len(producer.failed))
        broker.stop()
    _check(report, inputs, watcher.output, expected_rows, digits)
    return report


def _pause(seconds: float, *bridges: Bridge) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for bridge in bridges:
            bridge.check()
        time.sleep(min(0.2, max(end - time.monotonic(), 0)))


def _check(
    report: Report, inputs: Counter[int], output: list[tuple[int, int, bytes, bytes]],
    expected_rows: np.ndarray, digits: np.ndarray,
) -> None:  # fmt: skip
    report.input_records = len(inputs)
    report.input_duplicates = sum(n - 1 for n in inputs.values())
    seen: Counter[int] = Counter()
    by_partition: dict[int, list[tuple[int, int]]] = defaultdict(list)
    worst = 0.0
    mismatches = 0
    for partition, offset, key, value in output:
        index = int(key)
        seen[index] += 1
        by_partition[partition].append((offset, index))
        got = np.frombuffer(value, dtype="<f4")
        want = expected_rows[index % len(digits)]
        error = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
        worst = max(worst, error)
        mismatches += error > 1e-3
    report.output_records = len(output)
    report.lost = len(set(inputs) - set(seen))
    report.duplicates = sum(n - 1 for n in seen.values()) - report.input_duplicates
    report.value_mismatches = int(mismatches)
    report.max_abs_error_vs_model = worst
    out_of_order = 0
    for pairs in by_partition.values():
        pairs.sort()
        last, first_seen = -1, set()
        for _, index in pairs:
            if index in first_seen:  # a duplicate (at least once): its first copy was checked
                continue
            first_seen.add(index)
            if index < last:
                out_of_order += 1
            last = max(last, index)
    report.out_of_order = out_of_order


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
    return (
        f"Last run ({time.strftime('%Y-%m-%d')}, {report.mode}, {report.partitions} partitions, "
        f"{report.seconds:.0f} s): **{report.records:,} records, {len(report.faults)} faults, "
        f"{report.lost} lost, {report.duplicates} duplicates**, "
        f"{report.out_of_order} out of partition order, "
        f"{report.value_mismatches} values off the model's reconstruction (largest difference "
        f"{report.max_abs_error_vs_model:.2g}); bridges that exited on their own and were restarted: "
        f"{report.crash_restarts}. Recovery: median {median:.1f} s, worst {worst:.1f} s."
        f"\n\n{table}\n\nReproduce: `{command}`"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--broker-restarts", type=int, default=3)
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of each bridge")
    parser.add_argument("--at-least-once", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument(
        "--write-docs", action="store_true", help="write the figures into docs/reliability.md"
    )
    args = parser.parse_args(argv)
    config = FaultConfig(
        records=args.records, partitions=args.partitions, broker_restarts=args.broker_restarts,
        kills=args.kills, exactly_once=not args.at_least_once, seed=args.seed, work_dir=args.work_dir,
    )  # fmt: skip
    report = run(config)
    print(json.dumps(asdict(report), indent=2))
    if args.write_docs:
        from benchmarks.report import replace_section

        given = list(argv if argv is not None else sys.argv[1:])
        if "--work-dir" in given:  # a local path says nothing about how to reproduce
            del given[given.index("--work-dir") : given.index("--work-dir") + 2]
        command = " ".join(
            ["python -m benchmarks.fault_injection", *(a for a in given if a != "--write-docs")]
        )
        section = "fault-injection-eos" if config.exactly_once else "fault-injection-alo"
        replace_section(section, markdown(report, command), DOCS)
    ok = report.lost == 0 and report.out_of_order == 0 and report.value_mismatches == 0
    return 0 if ok and (report.duplicates == 0 or not config.exactly_once) else 1


if __name__ == "__main__":
    sys.exit(main())
