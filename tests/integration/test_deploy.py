"""deploy/: the Kubernetes base validates against the API schemas, the compose file is valid, and the
image installs the way CI does."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S_VERSION = "1.33.0"  # native sidecars (init containers with restartPolicy: Always) are stable from 1.33


def _k8s_documents() -> list[dict]:
    base = DEPLOY / "k8s" / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    docs = []
    for resource in kustomization["resources"]:
        docs.extend(d for d in yaml.safe_load_all((base / resource).read_text()) if d)
    return docs


def test_kubernetes_manifests_validate_against_their_schemas() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    docs = _k8s_documents()
    assert {d["kind"] for d in docs} == {"ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises on any schema violation


def test_the_compress_bridge_runs_as_a_native_sidecar_with_probes() -> None:
    deployment = next(d for d in _k8s_documents() if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]
    sidecar = next(c for c in pod["spec"]["initContainers"] if c["name"] == "compress-bridge")
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["args"] == ["compress-bridge"]
    assert sidecar["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    config = next(d for d in _k8s_documents() if d["kind"] == "ConfigMap")["data"]
    assert config["LATENTWIRE_METRICS_HOST"] == "0.0.0.0"  # probes come from the kubelet, not loopback
    # every setting the ConfigMap holds is a real option of the command
    from latentwire.cli import build_parser
    from latentwire.cli.options import env_name

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["compress-bridge"]
    known = {env_name(flag) for action in sub._actions for flag in action.option_strings}
    assert {k for k in config if k.startswith("LATENTWIRE_")} <= known


def test_compose_file_is_valid() -> None:
    path = DEPLOY / "compose" / "compose.yaml"
    compose = yaml.safe_load(path.read_text())
    services = compose["services"]
    assert set(services) == {"kafka", "compress-bridge", "decompress-bridge", "prometheus", "grafana"}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (path.parent / source).exists() or source == "./models", source
    if shutil.which("docker-compose") is None:
        subprocess.run(
            [str(REPO / "deploy" / "scripts" / "install-system-deps.sh"), "--with-compose"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            continue
        done = subprocess.run(
            [*command, "-f", str(path), "config", "--quiet"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return
    pytest.skip(
        "neither `docker compose` (CLI plugin) nor docker-compose is installed: checked the structure only"
    )


def _dockerfile_runs() -> list[str]:
    text = (DEPLOY / "docker" / "Dockerfile").read_text().replace("\\\n", " ")
    return [line[4:].strip() for line in text.splitlines() if line.startswith("RUN ")]


def test_dockerfile_installs_like_ci() -> None:
    """CI runs `make test`, whose `deps` target runs deploy/scripts/install-system-deps.sh, then pip-installs
    the project; the image runs the same script and pip-installs the same project (without test extras)."""
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^system-deps:\n\t(.+)$", makefile, re.M)
    assert recipe and recipe.group(1).strip() == "deploy/scripts/install-system-deps.sh"
    assert re.search(r"pip install .*-e '\.\[", makefile)
    runs = _dockerfile_runs()
    assert any(run.startswith("deploy/scripts/install-system-deps.sh") for run in runs)
    assert any(re.search(r"pip install \.(\s|$)", run) for run in runs)
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M):
        for item in source.split():
            assert (REPO / item).exists(), f"the Dockerfile copies {item}, which is not in the repository"
