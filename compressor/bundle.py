"""The model bundle: a directory with the Keras encoder and decoder, the frozen normalization and
quantization parameters, and ``manifest.json`` whose SHA-256 content hash is the model id.

::

    bundle/
      manifest.json     format, model spec, data layout, normalization, quantization, the codec sections
                        (``codec.anomaly``: the anomaly calibration; ``codec.bounded``: the error-bounded
                        codec's statistics), training summary, SHA-256 of every file, and ``model_id`` =
                        SHA-256 of the rest of the manifest
      encoder.keras     Keras 3 native format, loaded with safe_mode=True (no code runs on load)
      decoder.keras
      encoder.plan.npz  optional: the model as a chain of Dense layers (kernels, biases, activations; no
      decoder.plan.npz  pickle), written when it is one and checked against Keras at save time. A bundle
                        with both is loaded without Keras (and without TensorFlow): the models run as NumPy
                        matrix products, and the Keras files load only if something asks for the Keras
                        model itself (training, or a plan file that is missing, as after a registry fetch)
      reference.npy     optional: a sample of the training records in original units (float32, N x D),
                        which anomaly detection compares windows with (nearest-neighbour distance)

An event bundle (``model.name`` = ``events``) holds no Keras models: only the event schema learned from a
topic's sample events (``codec.events``, :class:`compressor.events.EventSchema`), which is all the event
coder needs.

The first four bytes of the model id travel in every envelope. Loading recomputes every hash and
refuses a bundle whose content does not match its id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from compressor.anomaly import AnomalyCalibration
from compressor.bounded.stats import BoundedStats
from compressor.denoise_blend import DenoiseBlend
from compressor.errors import BundleError, ConfigError, ModelMismatchError
from compressor.events.schema import EventSchema
from compressor.inference import DensePlan, Predictor, load_plan, save_plan
from compressor.learned.bundle import LearnedSection
from compressor.normalization import Normalizer
from compressor.quantization import LatentQuantizer

__all__ = [
    "BUNDLE_FORMAT",
    "EVENTS_MODEL",
    "Bundle",
    "event_bundle",
    "load_bundle",
    "model_id_of",
    "save_bundle",
]

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "latentwire-bundle"
BUNDLE_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_FILES = ("encoder.keras", "decoder.keras")
#: the parts of a model bundle, each a Keras file and, when it is a Dense chain, a plan file
MODEL_PARTS = ("encoder", "decoder")
PLAN_FILES = {part: f"{part}.plan.npz" for part in MODEL_PARTS}
REFERENCE_FILE = "reference.npy"
#: the sections of the manifest's ``codec`` object
ANOMALY_SECTION = "anomaly"
BOUNDED_SECTION = "bounded"
EVENTS_SECTION = "events"
LEARNED_SECTION = "learned"
#: the model name of a bundle that holds only an event schema
EVENTS_MODEL = "events"
DENOISE_SECTION = "denoise"


@dataclass
class Bundle:
    """A model bundle, as trained or loaded.

    Arguments:
        encoder (keras.Model | None): normalized record -> latent values (None in an event bundle).
        decoder (keras.Model | None): latent values -> normalized record (None in an event bundle).
        normalizer (Normalizer | None): per-channel offset and scale of the training data.
        quantizer (LatentQuantizer | None): how latent values become codes.
        model_name (str): the model variant.
        window (int): rows per record.
        channels (int): values per row.
        columns (tuple[str, ...]): channel names. Default: none.
        shape (tuple[int, ...]): natural shape of one record. Default: ``()``, flat.
        anomaly (AnomalyCalibration | None): the anomaly threshold calibrated at training, the manifest's
            ``codec.anomaly``. Default: None, none (or unreadable).
        bounded_stats (BoundedStats | None): the error-bounded codec's training statistics, the manifest's
            ``codec.bounded``. Default: None, none (or unreadable).
        learned (LearnedSection | None): what training measured of the learned probability model, and the
            model where it pays, the manifest's ``codec.learned``. Default: None, none.
        denoise_blend (DenoiseBlend | None): the denoising blend fitted at training, the manifest's
            ``codec.denoise``. Default: None, none (or unreadable): denoising uses the model alone.
        reference (np.ndarray | None): a sample of the training records (N, D) in original units, kept for
            anomaly detection (``reference.npy``). Default: None, none.
        training (dict[str, Any]): the training summary. Default: empty.
        events (EventSchema | None): the event schema of an event topic, the manifest's ``codec.events``.
            Default: None.
        model_id (str): hex SHA-256 of its manifest (which hashes its files), set when saved or loaded.
            Default: ``""``.
        path (Path | None): the directory it was loaded from. Default: None.
        plans (dict[str, DensePlan]): the NumPy form of each part (``encoder``, ``decoder``) that is a
            chain of Dense layers, as saved in the bundle. Default: none (computed from the Keras models
            when needed).
    """

    encoder: Any
    decoder: Any
    normalizer: Normalizer
    quantizer: LatentQuantizer
    model_name: str
    window: int
    channels: int
    columns: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()
    anomaly: AnomalyCalibration | None = None
    bounded_stats: BoundedStats | None = None
    learned: LearnedSection | None = None
    denoise_blend: DenoiseBlend | None = None
    reference: np.ndarray | None = None
    training: dict[str, Any] = field(default_factory=dict)
    events: EventSchema | None = None
    model_id: str = ""
    path: Path | None = None
    plans: dict[str, DensePlan] = field(default_factory=dict)
    _predictors: dict[str, Predictor] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def record_size(self) -> int:
        if "encoder" in self.plans:
            return int(self.plans["encoder"][0][0].shape[0])
        return 0 if self.encoder is None else int(self.encoder.inputs[0].shape[-1])

    @property
    def latent_dim(self) -> int:
        if "encoder" in self.plans:
            return int(self.plans["encoder"][-1][0].shape[1])
        return 0 if self.encoder is None else int(self.encoder.outputs[0].shape[-1])

    def predictor(self, part: str) -> Predictor:
        """The fast batch caller of ``part`` (``"encoder"`` or ``"decoder"``), made once: from its plan
        when the bundle has one (no Keras), else from the Keras model."""
        if part not in self._predictors:
            plan = self.plans.get(part)
            self._predictors[part] = Predictor(getattr(self, part), plan=plan or None)
        return self._predictors[part]

    def plan_of(self, part: str) -> DensePlan | None:
        """``part`` as a chain of Dense layers, or None when it is any other model."""
        return self.predictor(part).plan

    @property
    def wire_id(self) -> bytes:
        """The 4 bytes of the model id carried in every envelope."""
        return bytes.fromhex(self.model_id[:8])


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def staged_directory(target: Path, prefix: str) -> Iterator[Path]:
    """A fresh directory beside ``target``; on success it replaces ``target`` in one rename, on failure it
    is removed and ``target`` is left as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def model_id_of(manifest: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the manifest without its ``model_id`` field."""
    body = {k: v for k, v in manifest.items() if k != "model_id"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def codec_sections(bundle: Bundle) -> dict[str, Any]:
    """The manifest's ``codec`` object: the sections the bundle has."""
    sections: dict[str, Any] = {}
    if bundle.anomaly is not None:
        sections[ANOMALY_SECTION] = bundle.anomaly.to_json()
    if bundle.bounded_stats is not None:
        sections[BOUNDED_SECTION] = bundle.bounded_stats.to_json()
    if bundle.events is not None:
        sections[EVENTS_SECTION] = bundle.events.to_dict()
    if bundle.learned is not None:
        sections[LEARNED_SECTION] = bundle.learned.to_json()
    if bundle.denoise_blend is not None:
        sections[DENOISE_SECTION] = bundle.denoise_blend.to_json()
    return sections


def sections_of(manifest: dict[str, Any]) -> dict[str, Any]:
    """The typed codec sections of a manifest, as :class:`Bundle` fields; unreadable ones are None."""
    codec = manifest.get("codec")
    if not isinstance(codec, dict):
        codec = {}
    return {
        "anomaly": AnomalyCalibration.from_json(codec.get(ANOMALY_SECTION)),
        "bounded_stats": BoundedStats.from_json(codec.get(BOUNDED_SECTION)),
        "events": _events_of(codec.get(EVENTS_SECTION)),
        "learned": LearnedSection.from_json(codec.get(LEARNED_SECTION)),
        "denoise_blend": DenoiseBlend.from_json(codec.get(DENOISE_SECTION)),
    }


def _events_of(section: Any) -> EventSchema | None:
    if section is None:
        return None
    try:
        return EventSchema.from_dict(section)
    except (ConfigError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"the bundle holds an unreadable event schema: {exc}") from exc


def event_bundle(schema: EventSchema, training: dict[str, Any] | None = None) -> Bundle:
    """A bundle holding only an event schema (no Keras models)."""
    return Bundle(None, None, None, None, EVENTS_MODEL, 1, 0, events=schema, training=training or {})


def _model_files(name: str) -> tuple[str, ...]:
    return () if name == EVENTS_MODEL else MODEL_FILES


def save_bundle(bundle: Bundle, directory: str | Path) -> str:
    """Write ``bundle`` to ``directory`` (replaced atomically) and return its model id."""
    directory = Path(directory)
    if (bundle.encoder is None) != (bundle.model_name == EVENTS_MODEL) or (
        bundle.model_name == EVENTS_MODEL and bundle.events is None
    ):
        raise ConfigError("a bundle has Keras models, or is an event bundle with an event schema")
    with staged_directory(directory, prefix=".bundle-") as staging:
        names = _model_files(bundle.model_name)
        if bundle.encoder is not None:
            bundle.encoder.save(staging / "encoder.keras")
            bundle.decoder.save(staging / "decoder.keras")
            for part in MODEL_PARTS:
                plan = bundle.plan_of(part)
                if plan is not None:
                    save_plan(staging / PLAN_FILES[part], plan)
                    names += (PLAN_FILES[part],)
        if bundle.reference is not None:
            np.save(staging / REFERENCE_FILE, np.asarray(bundle.reference, np.float32), allow_pickle=False)
            names += (REFERENCE_FILE,)
        manifest: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_FORMAT_VERSION,
            "model": {
                "name": bundle.model_name,
                "input_dim": bundle.record_size,
                "latent_dim": bundle.latent_dim,
            },
            "data": {
                "window": bundle.window,
                "channels": bundle.channels,
                "columns": list(bundle.columns),
                "shape": list(bundle.shape),
            },
            "normalization": None if bundle.normalizer is None else bundle.normalizer.to_json(),
            "quantization": None if bundle.quantizer is None else bundle.quantizer.to_json(),
            "codec": codec_sections(bundle),
            "training": bundle.training,
            "files": {name: _sha256_file(staging / name) for name in names},
        }
        manifest["model_id"] = model_id_of(manifest)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    bundle.model_id = manifest["model_id"]
    bundle.path = directory
    log.info("saved bundle %s to %s", bundle.model_id[:12], directory)
    return bundle.model_id


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """Read and verify a bundle's manifest and file hashes without loading Keras."""
    directory = Path(directory)
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BundleError(f"{directory} is not a model bundle: no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path} is not a {BUNDLE_FORMAT} manifest")
    if manifest.get("format_version") != BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"{path}: bundle format version {manifest.get('format_version')} is not supported "
            f"(this build reads {BUNDLE_FORMAT_VERSION})"
        )
    expected = manifest.get("model_id")
    actual = model_id_of(manifest)
    if expected != actual:
        raise ModelMismatchError(
            f"{path}: manifest content hashes to {actual[:12]}, not its id {expected!s:.12}"
        )
    files = manifest.get("files", {})
    model = manifest.get("model")
    optional = (REFERENCE_FILE,) if isinstance(files, dict) and REFERENCE_FILE in files else ()
    for name in _model_files(model.get("name") if isinstance(model, dict) else None) + optional:
        file = directory / name
        if not file.is_file():
            raise BundleError(f"bundle {directory} lacks {name}")
        digest = _sha256_file(file)
        if files.get(name) != digest:
            raise ModelMismatchError(f"bundle {directory}: {name} does not match the hash in its manifest")
    for name in PLAN_FILES.values():  # optional even when listed: without one, the Keras file serves
        file = directory / name
        if isinstance(files, dict) and name in files and file.is_file() and _sha256_file(file) != files[name]:
            raise ModelMismatchError(f"bundle {directory}: {name} does not match the hash in its manifest")
    return manifest


def load_bundle(directory: str | Path) -> Bundle:
    """Load a bundle after verifying its content hash. Keras loads in safe mode: no code from the bundle runs."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    sections = sections_of(manifest)
    if manifest["model"]["name"] == EVENTS_MODEL:
        if sections["events"] is None:
            raise BundleError(f"event bundle {directory} holds no event schema")
        bundle = event_bundle(sections["events"], manifest.get("training", {}))
        bundle.model_id, bundle.path = manifest["model_id"], directory
        return bundle
    plans = _plans_in(directory, manifest)
    if len(plans) == len(MODEL_PARTS):
        encoder, decoder = (KerasFile(directory / f"{part}.keras") for part in MODEL_PARTS)
    else:
        encoder, decoder = (_load_keras(directory / f"{part}.keras") for part in MODEL_PARTS)
    data = manifest["data"]
    reference = None
    if REFERENCE_FILE in manifest.get("files", {}):
        try:
            reference = np.load(directory / REFERENCE_FILE, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BundleError(f"cannot read {directory / REFERENCE_FILE}: {exc}") from exc
        size = int(manifest["model"]["input_dim"])  # values per record, whatever the record's shape
        if reference.ndim != 2 or reference.dtype != np.float32 or reference.shape[1] != size:
            raise BundleError(f"{directory / REFERENCE_FILE} is not a float32 array of {size}-value records")
    return Bundle(
        encoder=encoder,
        decoder=decoder,
        normalizer=Normalizer.from_json(manifest["normalization"]),
        quantizer=LatentQuantizer.from_json(manifest["quantization"]),
        model_name=manifest["model"]["name"],
        window=int(data["window"]),
        channels=int(data["channels"]),
        columns=tuple(data.get("columns", ())),
        shape=tuple(data.get("shape", ())),
        **sections,
        reference=reference,
        training=manifest.get("training", {}),
        model_id=manifest["model_id"],
        path=directory,
        plans=plans,
    )


def _plans_in(directory: Path, manifest: dict[str, Any]) -> dict[str, DensePlan]:
    """The plan files a bundle lists and holds (their hashes already checked), by part."""
    plans = {}
    for part, name in PLAN_FILES.items():
        if name in manifest.get("files", {}) and (directory / name).is_file():
            try:
                plans[part] = load_plan(directory / name)
            except (OSError, KeyError, ValueError) as exc:
                raise BundleError(f"cannot read {directory / name}: {exc}") from exc
    return plans


def _load_keras(path: Path) -> Any:
    """A bundle's Keras model, in safe mode; BundleError if it cannot be loaded."""
    from compressor.backend import keras
    from compressor.models import available_models

    available_models()  # registers every custom layer a variant may use
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad or hostile archive
        raise BundleError(f"cannot load the Keras models of {path.parent}: {path.name}: {exc}") from exc


class KerasFile:
    """A bundle's Keras model, loaded on first use (Keras and TensorFlow take seconds to import): a bundle
    whose parts have plans runs without it, unless something asks for the model itself.

    Arguments:
        path (Path): the ``.keras`` file (its hash already checked).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = _load_keras(self.path)
        return self._model

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("path", "_model"):  # copies and pickles probe these first
            raise AttributeError(name)
        return getattr(self.model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.model(*args, **kwargs)
