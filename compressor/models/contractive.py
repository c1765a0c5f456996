"""Contractive autoencoder (Rifai et al. 2011): the loss adds ``weight * ||J_f(x)||_F^2``, the squared
Frobenius norm of the encoder's Jacobian at each training record, so the latent code changes little
under small input perturbations.

The Jacobian is computed exactly for whatever encoder architecture is chosen, with TensorFlow's
``GradientTape.batch_jacobian`` (one row per latent unit, vectorised), inside a custom ``train_step``.

Options: ``contractive_weight`` (default 0.01), plus the architecture options of
:mod:`compressor.models.vanilla`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from compressor.backend import keras
from compressor.models import Autoencoder, ModelSpec, register_model
from compressor.models.vanilla import dense_stack, optimizer, option

__all__ = ["ContractiveAutoencoder", "build_contractive", "jacobian_frobenius", "mean_jacobian_frobenius"]


def jacobian_frobenius(encoder: Any, x: Any, training: bool = False) -> Any:
    """Squared Frobenius norm of d encoder(x) / dx for each row of ``x``: shape (N,)."""
    x = tf.convert_to_tensor(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        z = encoder(x, training=training)
    jac = tape.batch_jacobian(z, x)  # (N, latent, input)
    return tf.reduce_sum(tf.square(jac), axis=[1, 2])


def mean_jacobian_frobenius(encoder: Any, x: np.ndarray, batch_size: int = 256) -> float:
    """Mean over the rows of ``x`` of the squared Frobenius norm of the encoder's Jacobian."""
    total = 0.0
    for start in range(0, len(x), batch_size):
        total += float(tf.reduce_sum(jacobian_frobenius(encoder, x[start : start + batch_size])))
    return total / max(len(x), 1)


@keras.saving.register_keras_serializable(package="latentwire")
class ContractiveAutoencoder(keras.Model):
    """Trains ``encoder`` and ``decoder`` on mean squared error plus the contractive penalty.

    Arguments:
        encoder (keras.Model): record -> latent values.
        decoder (keras.Model): latent values -> record.
        weight (float): weight of the penalty (the encoder Jacobian's squared Frobenius norm). Default: 0.01.
    """

    def __init__(
        self, encoder: keras.Model, decoder: keras.Model, weight: float = 0.01, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.weight = float(weight)
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.contractive_loss_tracker = keras.metrics.Mean(name="contractive_loss")

    @property
    def metrics(self) -> list[Any]:
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.contractive_loss_tracker]

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def _loss_terms(self, x: Any, training: bool) -> tuple[Any, Any, Any]:
        with tf.GradientTape() as inner:
            inner.watch(x)
            z = self.encoder(x, training=training)
        jac = inner.batch_jacobian(z, x)
        penalty = tf.reduce_mean(tf.reduce_sum(tf.square(jac), axis=[1, 2]))
        rec = tf.reduce_mean(tf.square(x - self.decoder(z, training=training)))
        return rec + self.weight * penalty, rec, penalty

    def _update_trackers(self, total: Any, rec: Any, penalty: Any) -> dict[str, Any]:
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(rec)
        self.contractive_loss_tracker.update_state(penalty)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data: Any) -> dict[str, Any]:
        x = tf.convert_to_tensor(data[0] if isinstance(data, tuple) else data, tf.float32)
        with tf.GradientTape() as tape:
            total, rec, penalty = self._loss_terms(x, training=True)
        grads = tape.gradient(total, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        return self._update_trackers(total, rec, penalty)

    def test_step(self, data: Any) -> dict[str, Any]:
        x = tf.convert_to_tensor(data[0] if isinstance(data, tuple) else data, tf.float32)
        return self._update_trackers(*self._loss_terms(x, training=False))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "weight": self.weight,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ContractiveAutoencoder:
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


@register_model("contractive")
def build_contractive(spec: ModelSpec) -> Autoencoder:
    encoder, decoder = dense_stack(spec)
    trainer = ContractiveAutoencoder(
        encoder, decoder, weight=option(spec, "contractive_weight", 0.01), name="contractive_autoencoder"
    )
    trainer.compile(optimizer=optimizer(spec))
    return Autoencoder(encoder, decoder, trainer)
