"""Smaller runs of ``benchmarks/fault_injection.py`` on a local cluster: leaders and bridges SIGKILLed.

Default suite (marker ``fault``, about three minutes on 2 cores): a three-node cluster loses the leader of
a ``raw`` partition and then of a ``packed`` partition while 2,000 records stream through both bridges
exactly once; every record must arrive once, in partition order, equal to the model's reconstruction.
The ``slow`` runs add SIGKILLs of each bridge, a double outage, more records, and at least once on a
single node (each bridge killed between writing a batch and committing its input offsets, so the batch
really is written twice: the duplicates are counted, and a reader that drops repeated keys sees every
record once).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from benchmarks.fault_injection import FaultConfig, Report, passed, run

# `make test` runs `fault` tests even when they are also `slow`; the long ones below are `slow` only
pytestmark = [pytest.mark.integration]


def _assert_exactly_once(report: Report, records: int) -> None:
    assert report.input_records == records and report.input_duplicates == 0
    assert report.lost == 0
    assert report.duplicates == 0
    assert report.out_of_order == 0
    assert report.value_mismatches == 0
    assert all(f["recovery_seconds"] is not None for f in report.faults), report.faults
    assert passed(report)


@pytest.mark.fault
def test_cluster_loses_two_leaders_exactly_once(tmp_path: Path) -> None:
    config = FaultConfig(
        records=2_000, leader_kills=2, double_outages=0, kills=0, seed=3, work_dir=tmp_path,
        seconds_per_fault=30.0, gap=(1.0, 2.0), down=(2.0, 3.0),
    )  # fmt: skip
    report = run(config)
    print(asdict(report))
    assert [f["fault"].split(" of ")[-1].split("[")[0] for f in report.faults] == ["raw", "packed"]
    _assert_exactly_once(report, 2_000)
    assert report.crash_restarts == {"compress-bridge": 0, "decompress-bridge": 0}  # recovered in place
    # the target (15 s) is measured by the benchmark; a loaded CI machine gets more room
    assert max(f["recovery_seconds"] for f in report.faults) < 60, report.faults


@pytest.mark.slow
def test_cluster_loses_a_leader_and_both_bridges_exactly_once(tmp_path: Path) -> None:
    config = FaultConfig(
        records=3_000, leader_kills=1, double_outages=0, kills=1, seed=3, work_dir=tmp_path,
        seconds_per_fault=40.0, gap=(1.0, 3.0), down=(2.0, 3.0),
    )  # fmt: skip
    report = run(config)
    print(asdict(report))
    assert [f["fault"].split(",")[0].split(" ")[0] for f in report.faults].count("SIGKILL") == 3
    assert any("leader of" in f["fault"] for f in report.faults)
    _assert_exactly_once(report, 3_000)
    leader = next(f for f in report.faults if "leader of" in f["fault"])
    assert leader["recovery_seconds"] < 60  # the target (15 s) is measured by the benchmark, not a loaded CI


@pytest.mark.slow
def test_at_least_once_duplicates_are_counted_and_dropped_by_key(tmp_path: Path) -> None:
    config = FaultConfig(
        records=2_000, nodes=1, leader_kills=0, double_outages=0, kills=1, exactly_once=False, seed=5,
        work_dir=tmp_path, seconds_per_fault=40.0, gap=(1.0, 3.0),
    )  # fmt: skip
    report = run(config)
    print(asdict(report))
    assert all("between produce and offset commit" in f["fault"] for f in report.faults), report.faults
    assert report.lost == 0 and report.out_of_order == 0 and report.value_mismatches == 0
    assert report.duplicates > 0  # each kill repeated the batch it had written but not committed
    assert report.duplicates_after_key_filter == 0
    assert passed(report)


@pytest.mark.slow
def test_cluster_survives_leader_kills_a_double_outage_and_bridge_kills(tmp_path: Path) -> None:
    report = run(
        FaultConfig(records=20_000, leader_kills=2, double_outages=1, kills=1, seed=3, work_dir=tmp_path)
    )
    print(asdict(report))
    assert len(report.faults) == 5
    _assert_exactly_once(report, 20_000)
