"""A real Prometheus server scrapes real bridges: every dashboard query and every alert expression answers.

Prometheus comes from Debian's ``prometheus`` package, installed by ``deploy/scripts/install-system-deps.sh
--with-prometheus`` when missing (the test skips, saying why, when that is impossible). Set
``LATENTWIRE_DASHBOARD_PNG=docs/img/dashboard.png`` to redraw the documentation's dashboard picture from
this run's data.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from kafka import KafkaProducer

from tests.integration.bridge_helpers import REPO, bridge_pair, free_port, read_all

pytestmark = pytest.mark.integration

RULES = REPO / "deploy" / "prometheus" / "rules.yaml"
DASHBOARD = REPO / "deploy" / "grafana" / "latentwire.json"
_COMPARISON = re.compile(r"^(?P<signal>.+?)\s*(==|!=|>=|<=|>|<)\s*(?P<threshold>[0-9.]+)$", re.S)


@pytest.fixture(scope="module")
def prometheus_bin() -> tuple[str, str]:
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        script = REPO / "deploy" / "scripts" / "install-system-deps.sh"
        done = subprocess.run([str(script), "--with-prometheus"], capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not (shutil.which("prometheus") and shutil.which("promtool")):
            pytest.skip(
                f"Prometheus is not installed and {script.name} could not install it: {done.stderr[-500:]}"
            )
    return shutil.which("prometheus"), shutil.which("promtool")  # type: ignore[return-value]


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310
        body = json.load(resp)
    assert body["status"] == "success", body
    return body["data"]["result"]


def _wait_for(base: str, expr: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = _query(base, expr)
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"no result for {expr} after {timeout} s")


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"].replace("$topic", ".*") for p in dashboard["panels"] for t in p.get("targets", [])]


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules_and_the_config(prometheus_bin: tuple[str, str]) -> None:
    _, promtool = prometheus_bin
    for args in (["check", "rules", str(RULES)], ["check", "config", str(RULES.with_name("prometheus.yml"))]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_dashboard_query_and_alert_answers_from_real_bridges(
    prometheus_bin: tuple[str, str],
    kafka_bootstrap: str,
    topic_factory,
    digits_bundle_dir: Path,
    digits: np.ndarray,
    tmp_path: Path,
) -> None:
    prometheus, promtool = prometheus_bin
    raw, packed, restored = topic_factory(), topic_factory(), topic_factory()
    compress, decompress = bridge_pair(
        kafka_bootstrap,
        tmp_path,
        digits_bundle_dir,
        (raw, packed, restored),
        compress=["--array-field", "values", "--drift-window", "300", "--max-poll-records", "100"],
        decompress=["--max-poll-records", "100"],
    )
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": "latentwire-bridges",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{compress.port}", f"127.0.0.1:{decompress.port}"]}
                ],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    server = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        compress.wait_ready()
        decompress.wait_ready()
        # Prometheus must have seen the dead-letter counters at 0 before any bad record, or increase()
        # in the alert has no earlier sample to compare with (a start-up race under load)
        _wait_for(base, 'count(latentwire_bridge_dead_letters_total{bridge="compress"} == 0) > 0')
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
        rng = np.random.default_rng(0)
        normal = digits[:1200]
        for i, row in enumerate(normal):
            producer.send(
                raw, key=str(i).encode(), value=json.dumps({"id": i, "values": row.tolist()}).encode()
            )
            if i % 100 == 0:
                producer.flush()
                time.sleep(0.2)  # spread the traffic over several scrapes
        for bad in (b"{oops", b'{"values": [1, 2]}', b'{"values": "x"}'):
            producer.send(raw, key=b"bad", value=bad)
        producer.flush()
        assert len(read_all(kafka_bootstrap, restored, len(normal), timeout=90)) == len(normal)
        # then data the model never saw: uniform noise over the digits' value range drives the drift score up
        noise = rng.uniform(0, 16, size=(500, 64)).round()
        for i, row in enumerate(noise, start=len(normal)):
            producer.send(
                raw, key=str(i).encode(), value=json.dumps({"id": i, "values": row.tolist()}).encode()
            )
        producer.flush()
        producer.close()
        assert len(read_all(kafka_bootstrap, restored, len(normal) + len(noise), timeout=90)) == len(
            normal
        ) + len(noise)
        _wait_for(base, 'max(latentwire_bridge_drift{bridge="compress"}) == 1')
        _wait_for(base, "sum(latentwire_bridge_dead_letters_total) == 3")
        time.sleep(3)  # a few more scrapes and rule evaluations

        empty = [expr for expr in _dashboard_queries() if not _query(base, expr)]
        assert not empty, f"dashboard queries without a result: {empty}"
        for rule in _rules():
            match = _COMPARISON.match(rule["expr"].strip())
            assert match, f"alert {rule['alert']}: expression is not SIGNAL <op> NUMBER"
            assert _query(base, match["signal"]), f"alert {rule['alert']}: {match['signal']} has no result"
        firing = {rule["alert"]: _query(base, rule["expr"]) for rule in _rules()}
        assert firing["LatentwireDeadLettersGrowing"] and firing["LatentwireDrift"]
        assert not firing["LatentwireBridgeDown"] and not firing["LatentwireBoundViolations"]
        with urllib.request.urlopen(f"{base}/api/v1/rules", timeout=10) as resp:  # noqa: S310
            groups = json.load(resp)["data"]["groups"]
        assert {r["health"] for g in groups for r in g["rules"]} == {"ok"}

        for bridge in (compress, decompress):
            exposition = bridge.get("/metrics")[1]
            done = subprocess.run(
                [promtool, "check", "metrics"], input=exposition, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stdout + done.stderr
        png = os.environ.get("LATENTWIRE_DASHBOARD_PNG")
        if png:
            spec = importlib.util.spec_from_file_location(
                "render_dashboard", DASHBOARD.with_name("render_dashboard.py")
            )
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            module.render(base, Path(png), minutes=2)
        compress.stop()
        decompress.stop()
    finally:
        compress.kill()
        decompress.kill()
        server.terminate()
        server.wait(timeout=30)
