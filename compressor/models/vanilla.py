"""The plain dense autoencoder: encoder, bottleneck, decoder."""

from __future__ import annotations

from compressor.backend import keras
from compressor.models import Autoencoder, ModelSpec, register_model

__all__ = ["build_vanilla", "hidden_units"]


def hidden_units(input_dim: int, latent_dim: int) -> list[int]:
    """Two hidden layers that taper from the input towards the latent size."""
    first = max(min(input_dim // 2, 512), 64, 2 * latent_dim)
    second = max(min(input_dim // 4, 256), 32, 2 * latent_dim)
    return [first, second]


def dense_stack(spec: ModelSpec, prefix: str = "") -> tuple[keras.Model, keras.Model]:
    """Encoder and decoder of mirrored dense layers (ReLU inside, linear at both ends)."""
    units = spec.options.get("hidden") or hidden_units(spec.input_dim, spec.latent_dim)
    x_in = keras.Input((spec.input_dim,), name="record")
    h = x_in
    for i, n in enumerate(units):
        h = keras.layers.Dense(n, activation="relu", name=f"{prefix}enc_{i}")(h)
    z = keras.layers.Dense(spec.latent_dim, name=f"{prefix}latent")(h)
    encoder = keras.Model(x_in, z, name="encoder")

    z_in = keras.Input((spec.latent_dim,), name="latent")
    h = z_in
    for i, n in enumerate(reversed(units)):
        h = keras.layers.Dense(n, activation="relu", name=f"{prefix}dec_{i}")(h)
    x_out = keras.layers.Dense(spec.input_dim, name=f"{prefix}reconstruction")(h)
    decoder = keras.Model(z_in, x_out, name="decoder")
    return encoder, decoder


@register_model("vanilla")
def build_vanilla(spec: ModelSpec) -> Autoencoder:
    encoder, decoder = dense_stack(spec)
    x_in = keras.Input((spec.input_dim,), name="record")
    trainer = keras.Model(x_in, decoder(encoder(x_in)), name="vanilla_autoencoder")
    trainer.compile(optimizer=keras.optimizers.Adam(spec.options.get("learning_rate", 1e-3)), loss="mse")
    return Autoencoder(encoder, decoder, trainer)
