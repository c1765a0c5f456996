"""The package layers: a module imports only from its own layer or lower ones.

::

    latentwire        command line and demo
    producers | consumers   (side by side: neither imports the other)
    streaming         Kafka plumbing
    compressor        compression, no Kafka

Imports are read from the source (every ``import`` and ``from ... import``, including those inside
functions), so a lazy import that breaks the layering is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: package -> the project packages it may import (itself included)
ALLOWED = {
    "compressor": {"compressor"},
    "streaming": {"compressor", "streaming"},
    "producers": {"compressor", "streaming", "producers"},
    "consumers": {"compressor", "streaming", "consumers"},
    "latentwire": {"compressor", "streaming", "producers", "consumers", "latentwire"},
}
#: third-party packages that mean Kafka; the compression layer must not use them
KAFKA_CLIENTS = {"kafka", "confluent_kafka", "aiokafka", "quixstreams"}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (absolute imports; relative ones stay local)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_stay_in_their_layer(package: str) -> None:
    assert modules(package), f"no modules found in {package}/"
    offenders = []
    for path in modules(package):
        for name in imported_packages(path) & set(ALLOWED):
            if name not in ALLOWED[package]:
                offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offenders, "layering broken:\n" + "\n".join(offenders)


def test_compressor_knows_no_kafka_client() -> None:
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in modules("compressor")
        for name in imported_packages(path) & KAFKA_CLIENTS
    ]
    assert not offenders, "compressor/ must not talk to Kafka:\n" + "\n".join(offenders)


def test_imported_packages_sees_lazy_and_dotted_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import os.path\ndef f():\n    from producers.batching import X\n    from . import y\n")
    assert imported_packages(source) == {"os", "producers"}
