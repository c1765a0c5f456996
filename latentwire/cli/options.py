"""Typed options shared by several subcommands, each readable from ``LATENTWIRE_<NAME>``.

argparse converts a string default with the option's ``type``, so a value taken from the environment
is parsed and validated exactly like one given on the command line.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

ENV_PREFIX = "LATENTWIRE_"


def env_name(flag: str) -> str:
    """``--bootstrap-servers`` -> ``LATENTWIRE_BOOTSTRAP_SERVERS``."""
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


def add_option(parser: argparse.ArgumentParser, flag: str, *, help: str, **kwargs: Any) -> None:
    """Add ``flag`` whose default may come from the environment; the help names the variable."""
    var = env_name(flag)
    if var in os.environ:
        if kwargs.get("action") in ("store_true", "store_false"):
            kwargs["default"] = os.environ[var].strip().lower() in ("1", "true", "yes", "on")
        else:
            kwargs["default"] = os.environ[var]
        kwargs["required"] = False  # the environment supplies it
    parser.add_argument(flag, help=f"{help} [env {var}]", **kwargs)


def add_bootstrap_option(parser: argparse.ArgumentParser, *, embedded_default: bool = False) -> None:
    extra = (
        "; when not given, the local broker is started for the run and stopped afterwards"
        if embedded_default
        else ""
    )
    add_option(
        parser,
        "--bootstrap-servers",
        default=None if embedded_default else "127.0.0.1:9092",
        help=f"Kafka bootstrap servers, comma separated (kafka-python spelling){extra}",
    )


def add_metrics_option(parser: argparse.ArgumentParser) -> None:
    add_option(
        parser,
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus metrics on this port (0 = any free port; unset = no endpoint)",
    )
    add_option(
        parser,
        "--metrics-host",
        default="127.0.0.1",
        help="address the metrics endpoint binds to (loopback by default: expose it on purpose)",
    )


def add_error_bound_options(parser: argparse.ArgumentParser) -> None:
    """``--error-bound E`` or ``--lossless``, and ``--relative``, the same for every command that encodes."""
    exclusive = parser.add_mutually_exclusive_group()
    add_option(
        exclusive,
        "--error-bound",
        type=float,
        default=None,
        help="guarantee |decoded - original| <= E for every value (default: fixed-rate, no per-value bound)",
    )
    add_option(
        exclusive,
        "--lossless",
        action="store_true",
        default=False,
        help="reconstruct every value on the data's quantum exactly (a fixed step found at training, e.g. "
        "integer ADC counts or values with a fixed number of decimals), coded at a bound just below half of "
        "it; a value off the quantum comes back within that bound; a model whose data has no quantum in some "
        "column refuses with a clear message",
    )
    add_option(
        parser,
        "--relative",
        action="store_true",
        default=False,
        help="read --error-bound as a fraction of the training data's value range (the smallest positive "
        "per-channel range, so the bound holds relatively on every channel)",
    )


def error_bound_from_args(bundle: Any, args: argparse.Namespace) -> Any:
    """The ``ErrorBound`` of ``--lossless`` (``ErrorBound.lossless``) or of ``--error-bound`` (read with
    ``--relative`` against ``bundle``), or None."""
    from compressor.error_bound import ErrorBound
    from compressor.errors import ConfigError

    if args.lossless:
        if args.error_bound is not None:
            raise ConfigError(
                "--lossless and --error-bound are both set (one from the environment): give only one"
            )
        return ErrorBound.lossless(bundle)
    if args.error_bound is None:
        return None
    return ErrorBound.resolve(bundle, args.error_bound, args.relative)


def codec_from_args(bundle: Any, args: argparse.Namespace) -> Any:
    """The bundle's codec: error-bounded when ``--error-bound`` was given, else fixed-rate."""
    from compressor.codec import Codec

    return Codec(bundle, error_bound=error_bound_from_args(bundle, args))


def add_anomaly_options(parser: argparse.ArgumentParser) -> None:
    """``--anomaly-rule`` and ``--anomaly-likelihood``, for the producer and the compress bridge."""
    add_option(
        parser,
        "--anomaly-rule",
        default="likelihood",
        choices=["likelihood", "threshold"],
        help="how records are flagged as anomalous: 'likelihood' (the default) when a record's anomaly "
        "likelihood (its recent reconstruction error against that of the earlier records of the same "
        "topic and model, as `detect` scores series) reaches --anomaly-likelihood; 'threshold' when its "
        "reconstruction error exceeds the model's threshold calibrated at training (the fixed rule)",
    )
    add_option(
        parser,
        "--anomaly-likelihood",
        type=float,
        default=0.9999,
        help="the likelihood rule flags a record whose anomaly likelihood reaches this (in (0, 1]); the "
        "first 39 records of a stream are never flagged by it, they make its history",
    )
