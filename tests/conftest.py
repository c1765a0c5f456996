"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("LATENTWIRE_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real data sets; tests that need them skip with a reason when they are absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} is absent (set LATENTWIRE_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def digits() -> np.ndarray:
    """scikit-learn's bundled handwritten digits: 1797 real records of 64 values."""
    from sklearn.datasets import load_digits

    return load_digits().data.astype(np.float32)


def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this test run that every pytest-xdist worker of the run shares (the session's own
    base folder when pytest runs without workers)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def run_lock(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[None]:
    """Hold the run-wide lock ``name``: one worker at a time does what it guards."""
    with (run_dir(tmp_path_factory) / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def digits_bundle_dir(tmp_path_factory: pytest.TempPathFactory, digits: np.ndarray) -> Path:
    """A small vanilla model trained on the digits and saved as a bundle (read-only). Trained once per
    run: the first xdist worker to ask trains it, the others load what it saved."""
    from compressor.bundle import save_bundle
    from compressor.training import TrainingConfig, train

    path = run_dir(tmp_path_factory) / "bundles" / "digits"
    with run_lock(tmp_path_factory, "digits-bundle"):
        if not path.is_dir():
            bundle, _ = train(
                digits, window=1, channels=64, shape=(8, 8), config=TrainingConfig(epochs=15, seed=1),
                progress=False,
            )  # fmt: skip
            partial = path.with_name(f"{path.name}.partial")
            partial.parent.mkdir(parents=True, exist_ok=True)
            save_bundle(bundle, partial)
            partial.rename(path)  # whole or absent, whatever happens to this worker
    return path


@pytest.fixture(scope="session")
def digits_bundle(digits_bundle_dir: Path):  # noqa: ANN201
    from compressor.bundle import load_bundle

    return load_bundle(digits_bundle_dir)


#: the project's packages, lowest layer first
PACKAGES = ("compressor", "streaming", "producers", "consumers", "latentwire")


@pytest.fixture(scope="session")
def project_modules() -> list[ModuleType]:
    """Every module of the project's packages, imported (``__main__`` modules, which run on import, aside)."""
    modules = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not info.name.endswith(".__main__"):
                modules.append(importlib.import_module(info.name))
    return modules
