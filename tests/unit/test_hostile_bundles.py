"""Hostile model bundles: wrong hashes, and archives that would run code on load.

The code-carrying bundles have their manifest hashes fixed up, so the content-hash check passes and only
Keras' safe mode (and its refusal to import modules outside Keras) stands between the archive and code
execution. Each payload would create a marker file; the tests prove the marker never appears, and a
control shows the Lambda payload is live (it does run when safe mode is turned off).
"""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from compressor.anomaly import threshold_of
from compressor.bundle import MANIFEST, _sha256_file, load_bundle, model_id_of
from compressor.codec import Codec
from compressor.envelope import unpack
from compressor.errors import BundleError, ConfigError, ModelMismatchError
from producers.side_outputs import SideOutputs

GOLDEN = Path(__file__).parents[1] / "golden" / "bundle_v1"

pytestmark = pytest.mark.fault


def _copy(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(GOLDEN, bundle)
    return bundle


def _fix_hashes(bundle: Path) -> None:
    """Make the manifest vouch for whatever is in the bundle now (what an attacker with write access does)."""
    manifest = json.loads((bundle / MANIFEST).read_text())
    for name in manifest["files"]:
        manifest["files"][name] = _sha256_file(bundle / name)
    manifest["model_id"] = model_id_of(manifest)
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))


def _rewrite_config(archive: Path, edit) -> None:  # noqa: ANN001
    """Replace ``config.json`` inside a .keras archive by ``edit(config)``."""
    with zipfile.ZipFile(archive) as src:
        members = {name: src.read(name) for name in src.namelist()}
    members["config.json"] = json.dumps(edit(json.loads(members["config.json"]))).encode()
    with zipfile.ZipFile(archive, "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)


def test_bundle_whose_weights_do_not_match_the_hash_is_refused(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    with open(bundle / "decoder.keras", "r+b") as handle:
        handle.seek(-100, 2)
        handle.write(b"\x00" * 4)
    with pytest.raises(ModelMismatchError, match=r"decoder\.keras does not match the hash in its manifest"):
        load_bundle(bundle)


def test_bundle_whose_id_does_not_match_its_manifest_is_refused(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["quantization"]["bits"] = 4  # silently change how latents are read
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelMismatchError, match=f"not its id {manifest['model_id'][:12]}"):
        load_bundle(bundle)


@pytest.mark.parametrize(
    "codec",
    [
        {"anomaly": "high", "bounded": [1, 2]},
        {"anomaly": {"threshold": "high"}, "bounded": {"layout": "8x8"}},
        {"anomaly": {"quantile": 0.99}, "bounded": {"value_min": [0.0], "residual_scale": [1.0]}},
        ["anomaly", "bounded"],
    ],
)
def test_unreadable_codec_sections_load_as_absent(tmp_path: Path, codec: object) -> None:
    """A bundle whose codec sections are unreadable loads as one without them: no anomaly threshold, and
    error-bounded coding without training statistics (still within the bound)."""
    bundle = _copy(tmp_path)
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["codec"] = codec
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    _fix_hashes(bundle)
    loaded = load_bundle(bundle)
    assert loaded.anomaly is None and loaded.bounded_stats is None
    with pytest.raises(BundleError, match="no calibrated anomaly threshold"):
        threshold_of(loaded)
    with pytest.raises(ConfigError, match="no calibrated anomaly threshold"):
        SideOutputs(Codec(loaded), flag_anomalies=True, anomaly_rule="threshold")
    assert SideOutputs(Codec(loaded), flag_anomalies=True).detects  # the likelihood needs no threshold
    records = np.random.default_rng(0).normal(size=(4, loaded.record_size)).astype(np.float32)
    coder = Codec(loaded, error_bound=0.05)
    decoded = np.stack(coder.decode([unpack(p) for p in coder.encode(records).payloads]))
    assert np.abs(decoded - records).max() <= 0.05


def _lambda_archive(path: Path, marker: Path) -> None:
    """A .keras model with a Lambda layer whose (marshalled) code creates ``marker`` when it runs."""
    from compressor.backend import keras

    payload = eval(  # noqa: S307 - builds the hostile lambda under test
        f"lambda x: (__import__('pathlib').Path({str(marker)!r}).write_text('code ran'), x)[1]"
    )
    inputs = keras.Input((64,), name="record")
    outputs = keras.layers.Dense(8)(keras.layers.Lambda(payload)(inputs))
    keras.Model(inputs, outputs, name="encoder").save(path)
    marker.unlink()  # building the model above ran the payload once: it is live


def test_lambda_layer_is_refused_and_never_runs(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    marker = tmp_path / "lambda-ran"
    _lambda_archive(bundle / "encoder.keras", marker)
    _fix_hashes(bundle)
    with pytest.raises(BundleError, match=r"cannot load the Keras models of .*bundle.*lambda") as info:
        load_bundle(bundle)
    assert "safe_mode" in str(info.value)
    assert not marker.exists(), "the Lambda payload ran during load_bundle"


def test_control_the_lambda_payload_is_live_without_safe_mode(tmp_path: Path) -> None:
    from compressor.backend import keras

    marker = tmp_path / "lambda-ran"
    _lambda_archive(tmp_path / "encoder.keras", marker)
    keras.saving.load_model(tmp_path / "encoder.keras", compile=False, safe_mode=False)
    assert marker.read_text() == "code ran"


def test_config_naming_an_arbitrary_module_is_refused_and_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = "latentwire_hostile_payload"
    marker = tmp_path / "module-imported"
    (tmp_path / f"{module}.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"
        "def run(*args, **kwargs):\n    return args[0] if args else None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    bundle = _copy(tmp_path)

    def hostile(config: dict) -> dict:
        dense = config["config"]["layers"][1]
        dense["config"]["activation"] = {
            "module": module, "class_name": "function", "config": "run", "registered_name": "run",
        }  # fmt: skip
        return config

    _rewrite_config(bundle / "encoder.keras", hostile)
    _fix_hashes(bundle)
    with pytest.raises(BundleError, match="cannot load the Keras models") as info:
        load_bundle(bundle)
    assert "run" in str(info.value)
    assert not marker.exists() and module not in sys.modules, "the module named by the config was imported"


def test_config_calling_a_non_modeling_keras_api_is_refused(tmp_path: Path) -> None:
    """e.g. a config that would switch safe mode off for everything loaded afterwards."""
    from keras.src.saving import serialization_lib

    bundle = _copy(tmp_path)

    def hostile(config: dict) -> dict:
        dense = config["config"]["layers"][1]
        dense["config"]["activation"] = {
            "module": "keras.config", "class_name": "function",
            "config": "enable_unsafe_deserialization", "registered_name": None,
        }  # fmt: skip
        return config

    _rewrite_config(bundle / "encoder.keras", hostile)
    _fix_hashes(bundle)
    with pytest.raises(BundleError, match="cannot load the Keras models"):
        load_bundle(bundle)
    assert serialization_lib.in_safe_mode() is not False, "safe mode was switched off"
