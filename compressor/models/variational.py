"""Variational autoencoder (Kingma and Welling): the encoder outputs a mean and a log-variance, a
:class:`Sampling` layer draws ``z = mean + exp(log_var / 2) * eps``, and the loss adds the KL divergence
to a standard normal prior. The bundle's encoder outputs the mean, so the codec is deterministic, and the
decoder turns draws from the prior into new records (:mod:`compressor.applications.generate`).

Options: ``beta`` (weight of the KL term, default 1.0) plus the architecture options of
:mod:`compressor.models.vanilla`.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from compressor.backend import keras
from compressor.models import Autoencoder, ModelSpec, register_model
from compressor.models.vanilla import build_decoder, encoder_trunk, optimizer, option

__all__ = ["Sampling", "VariationalAutoencoder", "build_variational", "kl_divergence"]


@keras.saving.register_keras_serializable(package="latentwire")
class Sampling(keras.layers.Layer):
    """Reparameterisation: ``(mean, log_var) -> mean + exp(log_var / 2) * eps`` with ``eps ~ N(0, I)``.

    Arguments:
        seed (int | None): seed of ``eps``. Default: None, unseeded.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any) -> Any:
        mean, log_var = inputs
        eps = keras.random.normal(keras.ops.shape(mean), seed=self.seed_generator)
        return mean + keras.ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


def kl_divergence(mean: Any, log_var: Any) -> Any:
    """KL(N(mean, exp(log_var)) || N(0, I)) per record, summed over latent dimensions."""
    return -0.5 * keras.ops.sum(1.0 + log_var - keras.ops.square(mean) - keras.ops.exp(log_var), axis=-1)


@keras.saving.register_keras_serializable(package="latentwire")
class VariationalAutoencoder(keras.Model):
    """Trains ``encoder`` (record -> [mean, log_var]) and ``decoder`` with the negative ELBO.

    The reconstruction term is the squared error summed over a record's values (a Gaussian likelihood
    with variance 1/2 on normalized data); ``beta`` weights the KL term. Losses are tracked separately.

    Arguments:
        encoder (keras.Model): record -> ``[mean, log_var]`` of the latent distribution.
        decoder (keras.Model): latent values -> record.
        beta (float): weight of the KL term. Default: 1.0.
        seed (int | None): seed of the sampling. Default: None, unseeded.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        beta: float = 1.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.seed = seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self) -> list[Any]:
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, inputs: Any, training: bool = False) -> Any:
        mean, log_var = self.encoder(inputs, training=training)
        z = self.sampling([mean, log_var]) if training else mean
        return self.decoder(z, training=training)

    def _loss_terms(self, x: Any, training: bool) -> tuple[Any, Any, Any]:
        mean, log_var = self.encoder(x, training=training)
        z = self.sampling([mean, log_var])
        reconstruction = self.decoder(z, training=training)
        rec = keras.ops.mean(keras.ops.sum(keras.ops.square(x - reconstruction), axis=-1))
        kl = keras.ops.mean(kl_divergence(mean, log_var))
        return rec + self.beta * kl, rec, kl

    def _update_trackers(self, total: Any, rec: Any, kl: Any) -> dict[str, Any]:
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(rec)
        self.kl_loss_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data: Any) -> dict[str, Any]:
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            total, rec, kl = self._loss_terms(x, training=True)
        grads = tape.gradient(total, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        return self._update_trackers(total, rec, kl)

    def test_step(self, data: Any) -> dict[str, Any]:
        x = data[0] if isinstance(data, tuple) else data
        return self._update_trackers(*self._loss_terms(x, training=False))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> VariationalAutoencoder:
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


@register_model("variational")
def build_variational(spec: ModelSpec) -> Autoencoder:
    x_in = keras.Input((spec.input_dim,), name="record")
    h = encoder_trunk(spec, x_in)
    mean = keras.layers.Dense(spec.latent_dim, name="z_mean")(h)
    log_var = keras.layers.Dense(spec.latent_dim, name="z_log_var")(h)
    posterior = keras.Model(x_in, [mean, log_var], name="posterior")
    encoder = keras.Model(x_in, mean, name="encoder")  # the bundle's encoder: the posterior mean
    decoder = build_decoder(spec)
    trainer = VariationalAutoencoder(
        posterior,
        decoder,
        beta=option(spec, "beta", 1.0),
        seed=option(spec, "seed", 0),
        name="variational_autoencoder",
    )
    trainer.compile(optimizer=optimizer(spec))
    return Autoencoder(encoder, decoder, trainer)
