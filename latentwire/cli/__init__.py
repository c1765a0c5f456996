"""The ``latentwire`` command line: one console script, one module per subcommand.

Each ``*_cmd`` module in this package is found automatically; it exposes ``register(subparsers)``
and may set ``ORDER`` (an int) to place itself in ``--help``; heavy imports (TensorFlow, Kafka) happen inside
the command's ``run`` so that ``latentwire --help`` and ``latentwire broker status`` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from compressor.errors import LatentwireError

__all__ = ["build_parser", "main"]


def command_modules() -> list[str]:
    """Every ``latentwire.cli.*_cmd`` module, ordered by its ``ORDER`` (then name) for ``--help``."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name.endswith("_cmd")]
    modules = [importlib.import_module(f"latentwire.cli.{name}") for name in names]
    return [m.__name__ for m in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults (where an option has one) and keep the descriptions' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help  # "(default: None)" says nothing
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latentwire",
        description=(
            "Streaming compression for Apache Kafka: records travel as quantized autoencoder latents.\n"
            "Every option can also be set through an environment variable LATENTWIRE_<OPTION>\n"
            "(upper case, dashes as underscores); a flag on the command line wins."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in command_modules():
        importlib.import_module(name).register(sub)
    return parser


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbosity < 2:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except LatentwireError as exc:
        print(f"latentwire {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
