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
        [
            sys.executable,
            "-m",
            "compressor",
            "demo",
            "--bootstrap-servers",
            kafka_bootstrap,
            "--workdir",
            str(tmp_path),
            "--repeat",
            "1",
            "--epochs",
            "10",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["records"] == report["records_received"] == 1797
    assert report["records_failed"] == 0
    wire = report["wire_bytes"]
    assert 0 < wire["latentwire"] < wire["raw_zstd"] < wire["raw"]
    # the error is measured in the consumer process against the original data
    assert 0 < report["consumer_rmse"] < 0.5 * report["value_range"]
    assert (tmp_path / "bundle" / "manifest.json").is_file()
