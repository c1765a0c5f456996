"""Autoencoder variants behind a registry keyed by short, stable names.

A variant is a function ``build(spec: ModelSpec) -> Autoencoder`` decorated with :func:`register_model`.
Its ``encoder`` maps a normalized record to a latent vector and its ``decoder`` maps it back; ``trainer``
is the model ``fit`` runs (it may add noise, penalties or sampling). Only the encoder and decoder go into
the bundle, so producers and consumers use every variant the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from compressor.errors import ConfigError

__all__ = ["Autoencoder", "ModelSpec", "available_models", "build_model", "register_model"]


@dataclass(frozen=True)
class ModelSpec:
    """What a model builder is asked for.

    Arguments:
        input_dim (int): values per record.
        latent_dim (int): latent values per record.
        window (int): rows per record. Default: 1.
        channels (int): values per row. Default: 1.
        options (dict[str, Any]): variant options (strings from the command line are converted by the
            variant). Default: empty.
    """

    input_dim: int
    latent_dim: int
    window: int = 1
    channels: int = 1
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Autoencoder:
    """What a model builder returns.

    Arguments:
        encoder (keras.Model): ``(None, input_dim) -> (None, latent_dim)``.
        decoder (keras.Model): ``(None, latent_dim) -> (None, input_dim)``.
        trainer (keras.Model): the model ``fit()`` trains; shares layers with encoder and decoder.
    """

    encoder: Any
    decoder: Any
    trainer: Any


Builder = Callable[[ModelSpec], Autoencoder]
_REGISTRY: dict[str, Builder] = {}
#: modules that define variants; imported on first lookup so the registry is filled lazily
_VARIANT_MODULES = (
    "compressor.models.vanilla",
    "compressor.models.variational",
    "compressor.models.denoising",
    "compressor.models.sparse",
    "compressor.models.contractive",
)


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Register a builder under ``name``; a duplicate name is a programming error."""

    def decorator(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return decorator


def _load_variants() -> None:
    for module in _VARIANT_MODULES:
        importlib.import_module(module)


def available_models() -> list[str]:
    _load_variants()
    return sorted(_REGISTRY)


def build_model(name: str, spec: ModelSpec) -> Autoencoder:
    _load_variants()
    try:
        builder = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(sorted(_REGISTRY))}") from None
    return builder(spec)
