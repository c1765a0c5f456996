"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import importlib
import os
import pkgutil
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


@pytest.fixture(scope="session")
def digits_bundle_dir(tmp_path_factory: pytest.TempPathFactory, digits: np.ndarray) -> Path:
    """A small vanilla model trained on the digits and saved as a bundle (session-wide, read-only)."""
    from compressor.bundle import save_bundle
    from compressor.training import TrainingConfig, train

    bundle, _ = train(
        digits, window=1, channels=64, shape=(8, 8), config=TrainingConfig(epochs=15, seed=1), progress=False
    )
    path = tmp_path_factory.mktemp("bundles") / "digits"
    save_bundle(bundle, path)
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
