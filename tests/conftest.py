"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import os
import pkgutil
import shutil
from collections.abc import Iterator
from importlib import metadata
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


#: trained bundles kept between test runs, each under a digest of what made it (see ``trained_key``)
BUNDLE_CACHE = REPO / ".pytest_cache" / "latentwire-bundles"
#: the libraries a trained bundle depends on besides the project's own code
TRAINING_LIBRARIES = ("numpy", "scipy", "tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "numba")


def trained_key(*settings: object) -> str:
    """A digest of everything a bundle trained by the tests depends on: the source of ``compressor/``,
    the versions of :data:`TRAINING_LIBRARIES` and ``settings`` (the data and training configuration).
    Any change to them gives a new key, so a cached bundle is never older than the code that reads it."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "compressor").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in TRAINING_LIBRARIES:
        try:
            digest.update(f"{name}=={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} absent\0".encode())
    digest.update(repr(settings).encode())
    return digest.hexdigest()[:20]


@contextlib.contextmanager
def cache_entry(name: str) -> Iterator[Path]:
    """The folder of cache entry ``name`` (created empty if new), under its lock for the whole block: one
    process at a time, pytest-xdist workers and separate test runs alike."""
    BUNDLE_CACHE.mkdir(parents=True, exist_ok=True)
    with (BUNDLE_CACHE / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            (BUNDLE_CACHE / name).mkdir(exist_ok=True)
            yield BUNDLE_CACHE / name
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def digits_bundle_dir(digits: np.ndarray) -> Path:
    """A small vanilla model trained on the digits and saved as a bundle (read-only). Trained once for
    the code it runs on: the first test process to ask trains it, every other one (the xdist workers, the
    integration run after the unit run, later runs of the same code) loads what it saved."""
    from compressor.bundle import save_bundle
    from compressor.training import TrainingConfig, train

    config = TrainingConfig(epochs=15, seed=1)
    key = trained_key("digits", digits.shape, hashlib.sha256(digits.tobytes()).hexdigest(), config)
    with cache_entry(f"digits-{key}") as entry:
        path = entry / "digits"  # alone in its folder, which tests may read as a folder of bundles
        if not (path / "manifest.json").is_file():
            bundle, _ = train(digits, window=1, channels=64, shape=(8, 8), config=config, progress=False)
            partial = path.with_name(f"{path.name}.partial")
            shutil.rmtree(partial, ignore_errors=True)
            save_bundle(bundle, partial)
            shutil.rmtree(path, ignore_errors=True)
            partial.rename(path)  # whole or absent, whatever happens to this process
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
