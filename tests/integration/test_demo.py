"""The main job, end to end, against the session's broker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_reports_savings_and_consumer_side_error(kafka_bootstrap: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "latentwire", "demo", "--bootstrap-servers", kafka_bootstrap,
         "--workdir", str(tmp_path), "--repeat", "2", "--epochs", "20", "--json"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    fixed, bounded = report["fixed_rate"], report["error_bounded"]
    for stream in (fixed, bounded):
        assert stream["records_received"] == report["records"] > 0
        assert stream["records_failed"] == 0
        # fewer bytes on the wire than the raw records with Kafka's own zstd
        assert 0 < stream["wire_bytes"] < report["wire_bytes"]["raw_zstd"] < report["wire_bytes"]["raw"]
    # errors are measured in the consumer processes against the original data
    assert 0 < fixed["consumer_rmse"] < 0.2 * report["value_range"]
    assert bounded["consumer_bound_violations"] == 0
    assert bounded["consumer_max_abs_error"] <= bounded["error_bound"]
    assert (tmp_path / "bundle" / "manifest.json").is_file()
