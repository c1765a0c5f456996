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
import re
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


#: exit status when the broker refuses an operation (an ACL is missing); sysexits' EX_NOPERM
EXIT_NOT_AUTHORIZED = 77

_AUTHORIZATION_NAME = re.compile(r"\b(\w+AuthorizationFailedError)\b")
_REFUSED = {
    "TopicAuthorizationFailedError": "the broker refused this user access to topic",
    "GroupAuthorizationFailedError": "the broker refused this user the consumer group",
    "TransactionalIdAuthorizationFailedError": "the broker refused this user the transactional id",
    "ClusterAuthorizationFailedError": "the broker refused this user a cluster-wide operation (a producer "
    "needs WRITE on some topic)",
}


def authorization_refusal(exc: BaseException) -> str | None:
    """What the broker refused, if ``exc`` (or an exception it was raised from) is a Kafka authorization
    error, or names one (kafka-python reports some refusals only by name, e.g. an idempotent producer's
    InitProducerId refused as ClusterAuthorizationFailedError inside a plain KafkaError); None otherwise."""
    from kafka.errors import AuthorizationError

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    for error in chain:
        if isinstance(error, AuthorizationError):
            name = type(error).__name__
            names = error.args[0] if error.args else ""
            detail = (
                ", ".join(sorted(map(str, names))) if isinstance(names, (set, list, tuple)) else str(names)
            )
            return _refusal(name, detail)
    for error in chain:
        named = _AUTHORIZATION_NAME.search(str(error))
        if named:
            return _refusal(named.group(1), "")
    return None


def _refusal(name: str, detail: str) -> str:
    what = _REFUSED.get(name, "the broker refused this user an operation")
    return (
        f"{what}{' ' + detail if detail else ''} ({name}); an administrator grants it with an ACL "
        "(see docs/reliability.md, Security)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except Exception as exc:
        # a refused operation, however deep it is wrapped (e.g. in SendFailedError), says so and exits 77
        refused = authorization_refusal(exc)
        if refused is not None:
            print(f"latentwire {args.command}: not authorized: {refused}", file=sys.stderr)
            return EXIT_NOT_AUTHORIZED
        if not isinstance(exc, LatentwireError):
            raise
        print(f"latentwire {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
