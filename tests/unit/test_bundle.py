"""Model bundle: save/load, content-hash ids, tamper detection, golden bundle from another machine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from compressor.bundle import load_bundle, model_id_of, read_manifest, save_bundle
from compressor.codec import Codec
from compressor.envelope import unpack
from compressor.errors import BundleError, ModelMismatchError
from compressor.inference import Predictor

GOLDEN = Path(__file__).parents[1] / "golden"


def test_decode_after_reload_is_bit_identical(
    digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path
) -> None:
    original = load_bundle(digits_bundle_dir)
    save_bundle(original, tmp_path / "copy")
    reloaded = load_bundle(tmp_path / "copy")
    before, after = Codec(original).encode(digits[:300]), Codec(reloaded).encode(digits[:300])
    assert before.payloads == after.payloads
    assert np.array_equal(before.decoded, after.decoded)
    decoded = Codec(reloaded).decode([unpack(p) for p in before.payloads])
    assert np.array_equal(np.stack(decoded), before.decoded)


def test_model_id_is_the_manifest_hash(digits_bundle_dir: Path) -> None:
    manifest = read_manifest(digits_bundle_dir)
    assert manifest["model_id"] == model_id_of(manifest)
    assert len(manifest["model_id"]) == 64


def _copy_with_manifest(bundle_dir: Path, tmp_path: Path, edit: Callable[[dict], None]) -> Path:
    """A copy of ``bundle_dir`` whose manifest ``edit`` changed in place."""
    copy = tmp_path / "b"
    shutil.copytree(bundle_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_tampered_weights_are_refused(digits_bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(digits_bundle_dir, copy)
    with (copy / "decoder.keras").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelMismatchError, match="decoder.keras"):
        load_bundle(copy)


def test_tampered_manifest_is_refused(digits_bundle_dir: Path, tmp_path: Path) -> None:
    def double_first_scale(manifest: dict) -> None:
        manifest["normalization"]["scale"][0] *= 2

    copy = _copy_with_manifest(digits_bundle_dir, tmp_path, double_first_scale)
    with pytest.raises(ModelMismatchError, match="hashes to"):
        load_bundle(copy)


def test_missing_and_foreign_directories(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no manifest.json"):
        load_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text("[1, 2]")
    with pytest.raises(BundleError, match="not a latentwire-bundle"):
        load_bundle(tmp_path)


def test_future_bundle_format_is_refused(digits_bundle_dir: Path, tmp_path: Path) -> None:
    def from_the_future(manifest: dict) -> None:
        manifest["format_version"] = 99
        manifest["model_id"] = model_id_of(manifest)

    copy = _copy_with_manifest(digits_bundle_dir, tmp_path, from_the_future)
    with pytest.raises(BundleError, match="format version 99"):
        load_bundle(copy)


def test_golden_bundle_decodes_golden_envelopes() -> None:
    """A bundle and envelopes made on another machine decode to the recorded values here."""
    vectors = json.loads((GOLDEN / "bundle_v1_vectors.json").read_text())
    bundle = load_bundle(GOLDEN / "bundle_v1")
    assert bundle.model_id == vectors["model_id"]
    decoded = Codec(bundle).decode([unpack(bytes.fromhex(h)) for h in vectors["envelopes"]])
    assert [len(d) for d in decoded] == [len(v) for v in vectors["decoded"]]
    for got, expected in zip(decoded, vectors["decoded"], strict=True):
        np.testing.assert_allclose(got, np.asarray(expected, np.float32), rtol=1e-5, atol=1e-4)


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize("name", ["bundle_v1", "bundle_v2"])
def test_a_loaded_bundle_saves_the_manifest_it_was_loaded_with(name: str, tmp_path: Path) -> None:
    """The typed codec sections write back exactly the JSON they were read from (same bytes, same hash)."""
    original = read_manifest(GOLDEN / name)
    bundle = load_bundle(GOLDEN / name)
    assert (
        bundle.anomaly is not None and bundle.anomaly.threshold == original["codec"]["anomaly"]["threshold"]
    )
    assert (bundle.bounded_stats is None) == ("bounded" not in original["codec"])
    save_bundle(bundle, tmp_path / "copy")
    saved = read_manifest(tmp_path / "copy")
    assert _canonical(saved["codec"]) == _canonical(original["codec"])
    unchanged = [k for k in original if k not in ("files", "model_id")]
    assert {k: _canonical(saved[k]) for k in unchanged} == {k: _canonical(original[k]) for k in unchanged}


def test_a_shaped_bundle_with_its_training_sample_loads_back(digits: np.ndarray, tmp_path: Path) -> None:
    """Image records given as one row of one channel with a natural shape (as the benchmarks train MNIST):
    the kept training sample is checked against the model's record size, not window x channels."""
    from compressor.training import TrainingConfig, train

    bundle, _ = train(
        digits[:300], window=1, channels=1, shape=(8, 8), config=TrainingConfig(epochs=1), progress=False
    )
    assert bundle.reference is not None and bundle.reference.shape[1] == 64
    save_bundle(bundle, tmp_path / "shaped")
    reloaded = load_bundle(tmp_path / "shaped")
    assert reloaded.shape == (8, 8)
    assert np.array_equal(reloaded.reference, bundle.reference)


def test_a_dense_bundle_runs_without_importing_keras(
    digits_bundle_dir: Path, digits: np.ndarray, tmp_path: Path
) -> None:
    """A bundle whose models are Dense chains holds their plans: a producer and a consumer of it load,
    encode and decode without Keras or TensorFlow, to the same bytes and values as the Keras models give."""
    manifest = read_manifest(digits_bundle_dir)
    assert {"encoder.plan.npz", "decoder.plan.npz"} <= set(manifest["files"])
    script = (
        "import sys, numpy as np\n"
        "from compressor.bundle import load_bundle\n"
        "from compressor.codec import Codec\n"
        "from compressor.envelope import unpack\n"
        f"records = np.load({str(tmp_path / 'records.npy')!r})\n"
        f"codec = Codec(load_bundle({str(digits_bundle_dir)!r}))\n"
        "payloads = codec.encode(records).payloads\n"
        "decoded = np.stack(codec.decode([unpack(p) for p in payloads]))\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'Keras was imported'\n"
        "sys.stdout.buffer.write(b''.join(payloads) + decoded.tobytes())\n"
    )
    np.save(tmp_path / "records.npy", digits[:50])
    out = subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        capture_output=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
    ).stdout

    loaded = load_bundle(digits_bundle_dir)
    keras_codec = Codec(loaded)
    for part in ("encoder", "decoder"):  # the Keras models themselves, not their plans
        loaded._predictors[part] = Predictor(getattr(loaded, part).model)
        assert loaded._predictors[part].plan is not None
    payloads = keras_codec.encode(digits[:50]).payloads
    decoded = np.stack(keras_codec.decode([unpack(p) for p in payloads]))
    assert out == b"".join(payloads) + decoded.tobytes()


def test_a_missing_plan_falls_back_to_the_keras_model(digits_bundle_dir: Path, tmp_path: Path) -> None:
    """A registry fetch carries the Keras files only: the bundle still loads and runs, through Keras."""
    copy = tmp_path / "bundle"
    shutil.copytree(digits_bundle_dir, copy)
    (copy / "decoder.plan.npz").unlink()
    bundle = load_bundle(copy)
    assert set(bundle.plans) == {"encoder"}  # loaded through Keras, the decoder without a plan
    assert bundle.predictor("decoder").plan is not None  # read from the Keras model
    original = load_bundle(digits_bundle_dir)
    for a, b in zip(bundle.plan_of("decoder"), original.plans["decoder"], strict=True):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_a_tampered_plan_is_refused(digits_bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(digits_bundle_dir, copy)
    plan = dict(np.load(copy / "encoder.plan.npz"))
    plan["bias_0"] = plan["bias_0"] + 1.0
    np.savez(copy / "encoder.plan.npz", **plan)
    with pytest.raises(ModelMismatchError, match=r"encoder\.plan\.npz does not match"):
        load_bundle(copy)
