"""``latentwire train --from-topic``: a live sample of raw records, parsed like the compress bridge."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaProducer

from compressor.bundle import read_manifest
from latentwire.cli import main

pytestmark = pytest.mark.integration


def test_train_on_the_newest_records_of_a_topic(
    kafka_bootstrap: str,
    topic_factory,
    digits: np.ndarray,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = topic_factory(2)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for i, row in enumerate(digits[:700]):
        producer.send(topic, key=str(i).encode(), value=json.dumps({"id": i, "px": row.tolist()}).encode())
    producer.send(topic, value=b"not json")
    producer.flush()
    producer.close()
    out = tmp_path / "bundle"
    code = main(
        [
            "train",
            "--from-topic",
            topic,
            "--max-records",
            "500",
            "--array-field",
            "px",
            "--epochs",
            "2",
            "--bootstrap-servers",
            kafka_bootstrap,
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["records"] == 499  # the newest 500, less the one that is not JSON
    manifest = read_manifest(out)
    assert manifest["model"]["input_dim"] == 64


def test_data_and_topic_are_exclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", str(tmp_path / "b")]) == 2
    assert "exactly one of --data" in capsys.readouterr().err
