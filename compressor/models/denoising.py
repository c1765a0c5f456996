"""Denoising autoencoder (Vincent et al.): trained to reconstruct the clean record from a corrupted copy.

Corruption, active only while training: additive Gaussian noise (``layers.GaussianNoise``) and masking
noise (:class:`RandomMasking`, a random fraction of values set to zero, i.e. to the channel mean in
normalized units). The bundle's encoder is the clean encoder, so inference is unchanged.

Options: ``noise_std`` (default 0.3, in normalized units), ``mask_rate`` (default 0.1), plus the
architecture options of :mod:`compressor.models.vanilla`.
"""

from __future__ import annotations

from typing import Any

from compressor.backend import keras
from compressor.models import Autoencoder, ModelSpec, register_model
from compressor.models.vanilla import dense_stack, optimizer, option

__all__ = ["RandomMasking", "build_denoising"]


@keras.saving.register_keras_serializable(package="latentwire")
class RandomMasking(keras.layers.Layer):
    """Masking noise: while training, each value is set to zero with probability ``rate`` (no rescaling,
    unlike ``Dropout``); identity at inference.

    Arguments:
        rate (float): probability of zeroing a value, in ``[0, 1)``.
        seed (int | None): seed of the noise. Default: None, unseeded.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"masking rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.rate == 0.0:
            return inputs
        keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.seed_generator) >= self.rate
        return keras.ops.where(keep, inputs, keras.ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@register_model("denoising")
def build_denoising(spec: ModelSpec) -> Autoencoder:
    encoder, decoder = dense_stack(spec)
    seed = option(spec, "seed", 0)
    x_in = keras.Input((spec.input_dim,), name="record")
    noisy = keras.layers.GaussianNoise(option(spec, "noise_std", 0.3), seed=seed, name="gaussian_noise")(x_in)
    noisy = RandomMasking(option(spec, "mask_rate", 0.1), seed=seed, name="masking_noise")(noisy)
    trainer = keras.Model(x_in, decoder(encoder(noisy)), name="denoising_autoencoder")
    trainer.compile(optimizer=optimizer(spec), loss="mse")
    return Autoencoder(encoder, decoder, trainer)
