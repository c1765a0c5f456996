"""Sparse autoencoder: a penalty on the latent activations keeps most of them near zero.

Two penalties (``sparsity`` option):

* ``"kl"`` (default): sigmoid latents, and the KL divergence between a target activation rate ``target``
  (default 0.05) and each latent unit's mean activation over the batch (Ng's sparse autoencoder notes),
  weighted by ``sparsity_weight`` (default 1.0): :class:`KLSparsity`.
* ``"l1"``: ReLU latents with an L1 activity regularizer of weight ``l1`` (default 1e-3).

Plus the architecture options of :mod:`compressor.models.vanilla`.
"""

from __future__ import annotations

from typing import Any

from compressor.backend import keras
from compressor.errors import ConfigError
from compressor.models import Autoencoder, ModelSpec, register_model
from compressor.models.vanilla import build_decoder, encoder_trunk, optimizer, option

__all__ = ["KLSparsity", "build_sparse"]


@keras.saving.register_keras_serializable(package="latentwire")
class KLSparsity(keras.regularizers.Regularizer):
    """``weight * sum_j KL(target || mean_batch(a_j))`` for activations ``a`` in (0, 1).

    The value is multiplied by the batch size because Keras divides every activity penalty by it.

    Arguments:
        target (float): the wanted mean activation of each unit, in ``(0, 1)``. Default: 0.05.
        weight (float): weight of the penalty. Default: 1.0.
    """

    def __init__(self, target: float = 0.05, weight: float = 1.0) -> None:
        if not 0.0 < target < 1.0:
            raise ValueError(f"sparsity target must be in (0, 1), got {target}")
        self.target = float(target)
        self.weight = float(weight)

    def __call__(self, activations: Any) -> Any:
        eps = 1e-7
        rho = self.target
        rho_hat = keras.ops.clip(keras.ops.mean(activations, axis=0), eps, 1.0 - eps)
        kl = rho * keras.ops.log(rho / rho_hat) + (1.0 - rho) * keras.ops.log((1.0 - rho) / (1.0 - rho_hat))
        # Keras divides activity penalties by the batch size; this penalty is already a batch statistic
        batch = keras.ops.cast(keras.ops.shape(activations)[0], kl.dtype)
        return self.weight * keras.ops.sum(kl) * batch

    def get_config(self) -> dict[str, Any]:
        return {"target": self.target, "weight": self.weight}


@register_model("sparse")
def build_sparse(spec: ModelSpec) -> Autoencoder:
    kind = str(option(spec, "sparsity", "kl")).lower()
    if kind == "kl":
        regularizer: Any = KLSparsity(option(spec, "target", 0.05), option(spec, "sparsity_weight", 1.0))
        activation = "sigmoid"
    elif kind == "l1":
        regularizer = keras.regularizers.L1(option(spec, "l1", 1e-3))
        activation = "relu"
    else:
        raise ConfigError(f"unknown sparsity penalty {kind!r}; choose kl or l1")
    x_in = keras.Input((spec.input_dim,), name="record")
    z = keras.layers.Dense(
        spec.latent_dim, activation=activation, activity_regularizer=regularizer, name="latent"
    )(encoder_trunk(spec, x_in))
    encoder = keras.Model(x_in, z, name="encoder")
    decoder = build_decoder(spec)
    x_in2 = keras.Input((spec.input_dim,), name="record")
    trainer = keras.Model(x_in2, decoder(encoder(x_in2)), name="sparse_autoencoder")
    trainer.compile(optimizer=optimizer(spec), loss="mse")
    return Autoencoder(encoder, decoder, trainer)
