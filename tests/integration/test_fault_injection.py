"""A smaller run of ``benchmarks/fault_injection.py``: broker restart and SIGKILLed bridges mid-stream.

20,000 records through compress-bridge and decompress-bridge (exactly once) while the broker is restarted
once and each bridge is killed once (SIGKILL) and replaced; the read-committed output must hold every record
exactly once, in partition order, equal to the model's reconstruction. About 3 minutes on 2 cores.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from benchmarks.fault_injection import FaultConfig, run

pytestmark = [pytest.mark.integration, pytest.mark.fault, pytest.mark.slow]


def test_bridges_lose_nothing_across_broker_restarts_and_sigkills(tmp_path: Path) -> None:
    report = run(FaultConfig(records=20_000, broker_restarts=1, kills=1, seed=3, work_dir=tmp_path))
    print(asdict(report))
    assert len(report.faults) == 3
    assert report.input_records == 20_000 and report.input_duplicates == 0
    assert report.lost == 0
    assert report.duplicates == 0
    assert report.out_of_order == 0
    assert report.value_mismatches == 0
    assert all(f["recovery_seconds"] is not None for f in report.faults), report.faults
