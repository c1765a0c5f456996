"""The model registry on a compacted topic: publish, list, fetch, refuse, and a rollover mid-stream."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import msgpack
import numpy as np
import pytest
from kafka import KafkaProducer

from compressor.codec import Codec
from compressor.errors import ModelMismatchError
from producers.batching import BatchingProducer
from streaming.registry.format import chunk_records, pack_bundle
from streaming.registry.topic import ModelRegistry, publish_bundle
from tests.integration.bridge_helpers import REPO, BridgeProcess, read_all
from tests.training import without_learned_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def second_bundle_dir(tmp_path_factory: pytest.TempPathFactory, digits: np.ndarray) -> Path:
    """A different model for the same records (another seed and latent size), rolled out mid-stream.
    Without a learned model: the first model, which the bridge also takes from the registry, carries one."""
    from compressor.bundle import save_bundle
    from compressor.training import TrainingConfig, train

    with without_learned_model():
        bundle, _ = train(
            digits,
            window=1,
            channels=64,
            shape=(8, 8),
            config=TrainingConfig(epochs=4, seed=7, latent_dim=12),
            progress=False,
        )
    path = tmp_path_factory.mktemp("bundles") / "digits-v2"
    save_bundle(bundle, path)
    return path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "latentwire", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_publish_list_fetch_and_refuse(kafka_bootstrap: str, digits_bundle_dir: Path, tmp_path: Path) -> None:
    topic = f"_latentwire_models_{uuid.uuid4().hex[:8]}"
    done = _cli(
        "model",
        "publish",
        str(digits_bundle_dir),
        "--registry-topic",
        topic,
        "--chunk-bytes",
        "65536",
        "--bootstrap-servers",
        kafka_bootstrap,
    )
    assert done.returncode == 0, done.stderr
    manifest, archive = pack_bundle(digits_bundle_dir)
    model_id = manifest["model_id"]
    assert f"published model {model_id[:12]}" in done.stdout
    assert len(archive) > 65536  # so the bundle really travelled in several chunks
    listed = _cli("model", "list", "--registry-topic", topic, "--bootstrap-servers", kafka_bootstrap)
    assert listed.returncode == 0, listed.stderr
    assert model_id[:12] in listed.stdout and "vanilla" in listed.stdout

    config = {"bootstrap_servers": [kafka_bootstrap]}
    registry = ModelRegistry(config, topic, tmp_path / "cache")
    try:
        bundle = registry(bytes.fromhex(model_id[:8]))
        assert bundle is not None and bundle.model_id == model_id
        assert registry(b"\x00\x00\x00\x00") is None
        # a record that claims another id for this content is refused, whatever its own checksum says
        fake_id = "ab" * 32
        fake = {**manifest, "model_id": fake_id}
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=2 << 20)
        for key, value in chunk_records(fake, archive, 65536):
            producer.send(topic, key=key, value=value)
        producer.flush()
        producer.close()
        with pytest.raises(ModelMismatchError):
            registry(bytes.fromhex(fake_id[:8]))
    finally:
        registry.close()
    # the topic is compacted, so every model id keeps exactly one copy of each record
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        assert "compact" in repr(described)
    finally:
        admin.close()


def test_tampered_archive_is_refused(kafka_bootstrap: str, digits_bundle_dir: Path, tmp_path: Path) -> None:
    topic = f"_latentwire_models_{uuid.uuid4().hex[:8]}"
    manifest, archive = pack_bundle(digits_bundle_dir)
    files = msgpack.unpackb(archive, raw=False)
    files["decoder.keras"] = files["encoder.keras"]  # content that no longer matches the manifest's hashes
    tampered = msgpack.packb(files, use_bin_type=True)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    sent = [producer.send(topic, key=key, value=value) for key, value in chunk_records(manifest, tampered)]
    producer.flush()
    for future in sent:  # every chunk reached the broker: the refusal below is the registry's
        future.get(timeout=30)
    producer.close()
    registry = ModelRegistry({"bootstrap_servers": [kafka_bootstrap]}, topic, tmp_path / "cache")
    try:
        with pytest.raises(ModelMismatchError):
            registry(bytes.fromhex(manifest["model_id"][:8]))
        assert not (tmp_path / "cache" / manifest["model_id"]).exists()
    finally:
        registry.close()


def test_model_rollover_under_a_running_decompress_bridge(
    kafka_bootstrap: str,
    topic_factory,
    digits_bundle_dir: Path,
    digits_bundle,
    second_bundle_dir: Path,
    digits: np.ndarray,
    tmp_path: Path,
) -> None:
    from compressor.bundle import load_bundle

    registry_topic = f"_latentwire_models_{uuid.uuid4().hex[:8]}"
    packed, restored = topic_factory(), topic_factory()
    config = {"bootstrap_servers": [kafka_bootstrap]}
    publish_bundle(digits_bundle_dir, config, registry_topic)
    bridge = BridgeProcess(
        "decompress-bridge",
        [
            "--input-topic",
            packed,
            "--output-topic",
            restored,
            "--registry-topic",
            registry_topic,
            "--registry-cache",
            str(tmp_path / "cache"),
        ],
        kafka_bootstrap,
        tmp_path,
        "decompress",
    )
    first, second = Codec(digits_bundle), Codec(load_bundle(second_bundle_dir))
    assert first.wire_id != second.wire_id
    records = digits[:1600]
    try:
        bridge.wait_ready()
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
        keys = [str(i).encode() for i in range(len(records))]
        old = BatchingProducer(producer, first, packed, batch_size=400)
        old.send(records[:800], keys=keys[:800])
        old.flush()
        assert len(read_all(kafka_bootstrap, restored, 800, timeout=60)) == 800
        publish_bundle(second_bundle_dir, config, registry_topic)  # the producer rolls to the new model
        new = BatchingProducer(producer, second, packed, batch_size=400)
        new.send(records[800:], keys=keys[800:])
        new.flush()
        producer.close()
        out = read_all(kafka_bootstrap, restored, len(records))
        models = {
            m: bridge.metric("latentwire_bridge_records_total", model=m)
            for m in (first.model_id[:8], second.model_id[:8])
        }
        summary = bridge.stop()
    finally:
        bridge.kill()
    assert len(out) == len(records) and summary["dead_lettered"] == 0
    got = {int(m.key): np.frombuffer(m.value, "<f4") for m in out}
    np.testing.assert_allclose(
        np.stack([got[i] for i in range(800)]), first.encode(records[:800]).decoded, rtol=1e-5, atol=1e-3
    )
    np.testing.assert_allclose(
        np.stack([got[i] for i in range(800, 1600)]),
        second.encode(records[800:]).decoded,
        rtol=1e-5,
        atol=1e-3,
    )
    assert models == {first.model_id[:8]: 800, second.model_id[:8]: 800}
    assert (tmp_path / "cache" / second.model_id / "manifest.json").is_file()
