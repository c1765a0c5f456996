"""Tests for the autoencoder variants: shapes, config round trips, training, bundles, defining properties."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from compressor.backend import keras
from compressor.bundle import load_bundle, save_bundle
from compressor.codec import Codec
from compressor.envelope import unpack
from compressor.errors import ConfigError
from compressor.models import ModelSpec, available_models, build_model
from compressor.training import TrainingConfig, train
from tests.training import without_learned_model

DATA_DIR = Path(
    os.environ.get("LATENTWIRE_DATA_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)
VARIANTS = ("vanilla", "variational", "denoising", "sparse", "contractive")
#: (model, options): every variant plus the convolutional vanilla
CONFIGS = [(name, {}) for name in VARIANTS] + [("vanilla", {"arch": "conv"})]


def ecg(n: int, window: int = 32):
    from compressor.data import load_records

    path = DATA_DIR / "ecg_mitdb100" / "mitdb100_adu.csv"
    if not path.is_file():
        pytest.skip(f"shared data file ecg_mitdb100/mitdb100_adu.csv not found under {DATA_DIR}")
    return load_records(path, window=window, max_records=n)


@pytest.fixture(scope="module", autouse=True)
def no_learned_codec():
    """These tests are about the autoencoder variants: training skips the learned probability model
    (``tests/unit/test_learned.py`` covers it), which would otherwise cost a third of each ``train``."""
    with without_learned_model():
        yield


@pytest.fixture(scope="module")
def ecg_split():
    rs = ecg(2200)
    return rs, rs.records[:2000], rs.records[2000:]


def fit(model: str, records: np.ndarray, rs, **options):
    config = TrainingConfig(model=model, epochs=20, batch_size=32, latent_dim=8, options=options)
    return train(
        records, window=rs.window, channels=rs.channels, columns=rs.columns, config=config, progress=False
    )


@pytest.fixture(scope="module")
def trained(ecg_split):
    """One short training run per configuration, shared by the tests below."""
    rs, train_part, _ = ecg_split
    out = {}
    for name, options in CONFIGS:
        config = TrainingConfig(model=name, epochs=4, batch_size=64, latent_dim=8, options=options)
        key = name + ("_conv" if options else "")
        out[key] = train(
            train_part[:800],
            window=rs.window,
            channels=rs.channels,
            columns=rs.columns,
            config=config,
            progress=False,
        )
    return out


def test_registry_lists_every_variant():
    assert set(VARIANTS) <= set(available_models())
    with pytest.raises(ConfigError):
        build_model("no-such-model", ModelSpec(input_dim=8, latent_dim=2))


@pytest.mark.parametrize(("name", "options"), CONFIGS)
@pytest.mark.parametrize(("window", "channels"), [(32, 2), (30, 1), (1, 20)])
def test_shapes(name, options, window, channels):
    d = window * channels
    ae = build_model(
        name, ModelSpec(input_dim=d, latent_dim=4, window=window, channels=channels, options=options)
    )
    x = np.random.default_rng(0).standard_normal((5, d)).astype(np.float32)
    z = ae.encoder(x)
    assert tuple(ae.encoder.outputs[0].shape) == (None, 4)
    assert tuple(z.shape) == (5, 4)
    assert tuple(ae.decoder(z).shape) == (5, d)
    assert tuple(ae.trainer(x).shape) == (5, d)


def test_options_from_strings_and_bad_values():
    spec = ModelSpec(
        input_dim=64, latent_dim=4, window=32, channels=2, options={"arch": "conv", "filters": "8,16"}
    )
    ae = build_model("vanilla", spec)
    assert [layer.filters for layer in ae.encoder.layers if type(layer).__name__ == "Conv1D"] == [8, 16]
    with pytest.raises(ConfigError):
        build_model("vanilla", ModelSpec(input_dim=8, latent_dim=2, options={"arch": "lstm"}))
    with pytest.raises(ConfigError):
        build_model("sparse", ModelSpec(input_dim=8, latent_dim=2, options={"sparsity": "l7"}))
    with pytest.raises(ConfigError):
        build_model("variational", ModelSpec(input_dim=8, latent_dim=2, options={"beta": "lots"}))


def test_custom_layers_config_round_trip():
    from compressor.models.denoising import RandomMasking
    from compressor.models.sparse import KLSparsity
    from compressor.models.variational import Sampling

    for layer in (Sampling(seed=3, name="s"), RandomMasking(0.25, seed=4, name="m")):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
        revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
        assert type(revived) is type(layer) and revived.get_config() == layer.get_config()
    reg = KLSparsity(target=0.1, weight=2.0)
    assert KLSparsity.from_config(reg.get_config()).get_config() == {"target": 0.1, "weight": 2.0}
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(reg))
    assert isinstance(revived, KLSparsity) and revived.get_config() == reg.get_config()


@pytest.mark.parametrize("name", ["variational", "contractive"])
def test_custom_trainer_config_round_trip(name):
    ae = build_model(
        name, ModelSpec(input_dim=16, latent_dim=3, options={"beta": 0.5, "contractive_weight": 0.2})
    )
    config = ae.trainer.get_config()
    clone = type(ae.trainer).from_config(config)
    assert clone.encoder.get_config() == ae.trainer.encoder.get_config()
    assert clone.decoder.get_config() == ae.trainer.decoder.get_config()
    assert (clone.beta if name == "variational" else clone.weight) == (0.5 if name == "variational" else 0.2)
    x = np.ones((2, 16), np.float32)
    assert tuple(clone(x).shape) == (2, 16)


def test_masking_and_noise_act_only_in_training():
    from compressor.models.denoising import RandomMasking

    x = np.ones((200, 50), np.float32)
    layer = RandomMasking(0.3, seed=1)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    masked = np.asarray(layer(x, training=True))
    assert set(np.unique(masked)) == {0.0, 1.0}
    assert 0.25 < (masked == 0).mean() < 0.35


@pytest.mark.parametrize(("name", "options"), CONFIGS)
def test_loss_falls_during_training(ecg_split, name, options):
    rs, train_part, _ = ecg_split
    from compressor.normalization import Normalizer

    x = Normalizer.fit(train_part[:512], rs.channels).forward(train_part[:512])
    keras.utils.set_random_seed(0)
    ae = build_model(
        name,
        ModelSpec(
            input_dim=x.shape[1], latent_dim=8, window=rs.window, channels=rs.channels, options=options
        ),
    )
    losses = ae.trainer.fit(x, x, epochs=5, batch_size=64, verbose=0).history["loss"]
    assert losses[-1] < 0.95 * losses[0], losses
    assert all(np.isfinite(losses))


@pytest.mark.parametrize("key", [n for n in VARIANTS] + ["vanilla_conv"])
def test_bundle_round_trip_decodes_identically(trained, ecg_split, tmp_path, key):
    _, _, held = ecg_split
    bundle, summary = trained[key]
    assert summary.heldback_psnr_db > 10
    assert bundle.anomaly.threshold > 0
    save_bundle(bundle, tmp_path / "bundle")  # fixes the model id the envelopes carry
    before = Codec(bundle).encode(held)
    loaded = load_bundle(tmp_path / "bundle")
    assert loaded.model_name == key.split("_")[0]
    codec = Codec(loaded)
    after = codec.encode(held)
    assert after.payloads == before.payloads
    np.testing.assert_array_equal(after.decoded, before.decoded)
    decoded = codec.decode([unpack(p) for p in after.payloads])
    np.testing.assert_array_equal(np.stack(decoded), before.decoded)
    assert loaded.anomaly == bundle.anomaly


def test_dense_variants_run_in_numpy(trained):
    """Noise, masking and regularizers live outside the bundle or vanish at inference:
    dense chains stay numpy."""
    for key in VARIANTS:
        bundle, _ = trained[key]
        assert Codec(bundle)._encoder.backend == "numpy", key
    assert Codec(trained["vanilla_conv"][0])._encoder.backend == "tf.function"


# ----------------------------------------------------------------------------- defining properties


def test_denoising_beats_vanilla_on_noisy_heldback_data(ecg_split):
    from compressor.applications.denoise import add_noise, denoise
    from compressor.quality import measure

    rs, train_part, held = ecg_split
    vanilla, _ = fit("vanilla", train_part, rs)
    denoising, _ = fit("denoising", train_part, rs, noise_std=0.5, mask_rate=0.0)
    noisy = add_noise(vanilla, held, 0.5, seed=1)
    psnr = {
        name: measure(held, denoise(b, noisy)).psnr_db
        for name, b in (("vanilla", vanilla), ("denoising", denoising))
    }
    assert psnr["denoising"] > psnr["vanilla"] + 0.5, psnr
    assert psnr["denoising"] > measure(held, noisy).psnr_db + 3, psnr


def test_sparse_latent_activation_near_target(ecg_split):
    """The KL penalty pulls each latent unit's mean activation to the target rate. Reconstruction pulls it
    up, so it settles just above the target (within 15%), far below the same model without the penalty."""
    from compressor.applications.features import features

    rs, train_part, held = ecg_split
    target = 0.1
    sparse, _ = fit("sparse", train_part, rs, target=target, sparsity_weight=10.0)
    dense, _ = fit("sparse", train_part, rs, target=target, sparsity_weight=1e-9)
    z = features(sparse, held)
    assert z.min() >= 0.0 and z.max() <= 1.0
    assert z.mean() < 1.15 * target, z.mean()
    assert z.mean() < 0.5 * features(dense, held).mean()
    assert (z > 0.5).mean() < target  # fewer than `target` of the units are on for a typical record


def test_contractive_penalty_lower_than_vanilla(trained, ecg_split):
    from compressor.models.contractive import mean_jacobian_frobenius

    _, _, held = ecg_split
    jac = {}
    for key in ("vanilla", "contractive"):
        bundle, _ = trained[key]
        jac[key] = mean_jacobian_frobenius(bundle.encoder, bundle.normalizer.forward(held))
    assert jac["contractive"] < jac["vanilla"], jac


def test_jacobian_matches_analytic_dense_relu():
    """batch_jacobian agrees with the analytic Jacobian W2^T diag(relu'(W1 x + b1)) W1^T
    of a dense ReLU encoder."""
    from compressor.models.contractive import jacobian_frobenius

    ae = build_model("vanilla", ModelSpec(input_dim=6, latent_dim=2, options={"hidden": [5]}))
    (w1, b1), (w2, _) = (
        layer.get_weights() for layer in ae.encoder.layers if type(layer).__name__ == "Dense"
    )
    x = np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32)
    active = (x @ w1 + b1 > 0).astype(np.float32)
    expected = [np.sum(((w1 * a) @ w2) ** 2) for a in active]
    np.testing.assert_allclose(np.asarray(jacobian_frobenius(ae.encoder, x)), expected, rtol=1e-4)


def test_variational_samples(trained):
    from compressor.applications.generate import sample

    bundle, _ = trained["variational"]
    draws = sample(bundle, 7, seed=1)
    assert draws.shape == (7, bundle.record_size) and draws.dtype == np.float32
    assert np.isfinite(draws).all()
    np.testing.assert_array_equal(draws, sample(bundle, 7, seed=1))
    with pytest.raises(ConfigError):
        sample(trained["vanilla"][0], 3)
