"""The plain autoencoder: encoder, bottleneck, decoder; dense (default) or 1-D convolutional.

Options read from ``spec.options`` (strings from the command line are converted):

* ``arch``: ``"dense"`` (default) or ``"conv"``: strided ``Conv1D`` layers over the window, for long windows.
* ``hidden``: dense hidden layer sizes (default: two layers tapering towards the latent size).
* ``filters`` (conv, default ``[32, 64]``), ``kernel_size`` (conv, default 7).
* ``weight_decay``: L2 penalty on the dense kernels (default 0; :mod:`compressor.capacity` chooses one).
* ``learning_rate`` (default 1e-3).

The other variants reuse :func:`encoder_trunk` and :func:`build_decoder`, so
``--option arch=conv`` applies to them too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from compressor.backend import keras
from compressor.errors import ConfigError
from compressor.models import Autoencoder, ModelSpec, register_model

__all__ = [
    "build_decoder",
    "build_vanilla",
    "dense_stack",
    "encoder_trunk",
    "hidden_units",
    "kernel_regularizer",
    "option",
    "optimizer",
]

ARCHS = ("dense", "conv")


def option(spec: ModelSpec, key: str, default: Any) -> Any:
    """``spec.options[key]`` converted to the type of ``default`` (CLI values arrive as strings)."""
    value = spec.options.get(key, default)
    if value is None or not isinstance(value, str) or isinstance(default, str):
        return value
    try:
        if isinstance(default, bool):
            return value.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, list | tuple):
            return json.loads(value) if value.strip().startswith("[") else [int(v) for v in value.split(",")]
    except ValueError as exc:
        raise ConfigError(f"model option {key}={value!r}: {exc}") from None
    return value


def optimizer(spec: ModelSpec) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(option(spec, "learning_rate", 1e-3))


def kernel_regularizer(spec: ModelSpec) -> Any:
    """L2 on dense kernels when the ``weight_decay`` option is positive, else None."""
    decay = float(option(spec, "weight_decay", 0.0))
    return keras.regularizers.L2(decay) if decay > 0 else None


def _hidden_layer(spec: ModelSpec, units: int, name: str) -> keras.layers.Dense:
    return keras.layers.Dense(
        int(units), activation="relu", kernel_regularizer=kernel_regularizer(spec), name=name
    )


def hidden_units(input_dim: int, latent_dim: int) -> list[int]:
    """Two hidden layers that taper from the input towards the latent size."""
    first = max(min(input_dim // 2, 512), 64, 2 * latent_dim)
    second = max(min(input_dim // 4, 256), 32, 2 * latent_dim)
    return [first, second]


def _arch(spec: ModelSpec) -> str:
    arch = str(option(spec, "arch", "dense")).lower()
    if arch not in ARCHS:
        raise ConfigError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    return arch


def _sequence_shape(spec: ModelSpec) -> tuple[int, int]:
    """(length, channels) a record is convolved over: the window, or the whole row for row records."""
    if spec.window > 1 and spec.window * spec.channels == spec.input_dim:
        return spec.window, spec.channels
    return spec.input_dim, 1


def _conv_plan(spec: ModelSpec) -> tuple[int, int, int, list[int], int]:
    length, channels = _sequence_shape(spec)
    filters = [int(f) for f in option(spec, "filters", [32, 64])]
    stride_total = 2 ** len(filters)
    padded = math.ceil(length / stride_total) * stride_total
    return length, channels, padded, filters, int(option(spec, "kernel_size", 7))


def encoder_trunk(spec: ModelSpec, x: Any, prefix: str = "") -> Any:
    """Features before the bottleneck, for a (None, input_dim) tensor ``x``."""
    if _arch(spec) == "dense":
        units = option(spec, "hidden", None) or hidden_units(spec.input_dim, spec.latent_dim)
        return _dense_stack(x, units, spec, f"{prefix}enc")
    length, channels, padded, filters, kernel = _conv_plan(spec)
    h = keras.layers.Reshape((length, channels), name=f"{prefix}as_sequence")(x)
    if padded > length:
        h = keras.layers.ZeroPadding1D((0, padded - length), name=f"{prefix}pad")(h)
    for i, f in enumerate(filters):
        h = keras.layers.Conv1D(
            f, kernel, strides=2, padding="same", activation="relu", name=f"{prefix}conv_{i}"
        )(h)
    return keras.layers.Flatten(name=f"{prefix}flatten")(h)


def _dense_stack(h: Any, units: Sequence[int], spec: ModelSpec, name: str) -> Any:
    """ReLU dense layers of ``units`` widths on ``h``, named ``<name>_0``, ``<name>_1``, ..."""
    for i, n in enumerate(units):
        h = keras.layers.Dense(
            int(n), activation="relu", kernel_regularizer=kernel_regularizer(spec), name=f"{name}_{i}"
        )(h)
    return h


def build_decoder(spec: ModelSpec, prefix: str = "") -> keras.Model:
    """(None, latent_dim) -> (None, input_dim), mirroring :func:`encoder_trunk`."""
    z_in = keras.Input((spec.latent_dim,), name="latent")
    if _arch(spec) == "dense":
        units = option(spec, "hidden", None) or hidden_units(spec.input_dim, spec.latent_dim)
        h = _dense_stack(z_in, list(reversed(units)), spec, f"{prefix}dec")
        x_out = keras.layers.Dense(
            spec.input_dim, kernel_regularizer=kernel_regularizer(spec), name=f"{prefix}reconstruction"
        )(h)
        return keras.Model(z_in, x_out, name="decoder")
    length, channels, padded, filters, kernel = _conv_plan(spec)
    steps = padded // 2 ** len(filters)
    h = keras.layers.Dense(steps * filters[-1], activation="relu", name=f"{prefix}dec_dense")(z_in)
    h = keras.layers.Reshape((steps, filters[-1]), name=f"{prefix}dec_sequence")(h)
    for i, f in enumerate(reversed(filters)):
        h = keras.layers.Conv1DTranspose(
            f, kernel, strides=2, padding="same", activation="relu", name=f"{prefix}deconv_{i}"
        )(h)
    h = keras.layers.Conv1D(channels, kernel, padding="same", name=f"{prefix}dec_out")(h)
    if padded > length:
        h = keras.layers.Cropping1D((0, padded - length), name=f"{prefix}crop")(h)
    x_out = keras.layers.Reshape((spec.input_dim,), name=f"{prefix}reconstruction")(h)
    return keras.Model(z_in, x_out, name="decoder")


def dense_stack(spec: ModelSpec, prefix: str = "") -> tuple[keras.Model, keras.Model]:
    """Encoder and decoder of the chosen architecture (ReLU inside, linear at both ends)."""
    x_in = keras.Input((spec.input_dim,), name="record")
    z = keras.layers.Dense(
        spec.latent_dim, kernel_regularizer=kernel_regularizer(spec), name=f"{prefix}latent"
    )(encoder_trunk(spec, x_in, prefix))
    encoder = keras.Model(x_in, z, name="encoder")
    return encoder, build_decoder(spec, prefix)


@register_model("vanilla")
def build_vanilla(spec: ModelSpec) -> Autoencoder:
    encoder, decoder = dense_stack(spec)
    x_in = keras.Input((spec.input_dim,), name="record")
    trainer = keras.Model(x_in, decoder(encoder(x_in)), name="vanilla_autoencoder")
    trainer.compile(optimizer=optimizer(spec), loss="mse")
    return Autoencoder(encoder, decoder, trainer)
