"""The ``centinela`` command. Subcommands come from the ``centinela.commands`` entry points, so
the core does not import the services (docs/architecture.md, "Folders").

Each entry point is a function ``register(subcommands)`` that adds one parser and sets its
``handler(args, settings) -> int``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from centinela.contract.settings import Settings, load_settings
from centinela.exceptions import CentinelaError

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], int]
Subcommands = Any  # argparse's _SubParsersAction, which typeshed keeps private


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``command`` alone when it names one: each
    subcommand imports what it needs, and a worker should not carry what the others import
    (``centinela stream`` leaves Arrow out before pandas is imported, stream/memory.py)."""
    parser = argparse.ArgumentParser(
        prog="centinela",
        description="Keep models honest in production: score a Kafka stream with the MLflow "
        "champion, detect drift, and retrain a challenger for review.",
        epilog="Settings come from CENTINELA_* environment variables or .env; see README.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    entries = entry_points(group="centinela.commands")
    named = [entry for entry in entries if entry.name == command]
    for entry in sorted(named or entries, key=lambda e: e.name):
        try:
            register = entry.load()
        except (ImportError, AttributeError) as error:
            # One broken plugin must not take the whole command line down with it.
            log.warning("subcommand %r is unavailable: %s", entry.name, error)
            continue
        register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_in(arguments))
    args = parser.parse_args(arguments)
    configure_logging(verbose=args.verbose)
    try:
        settings = load_settings()
        handler: Handler = args.handler
        return handler(args, settings)
    except CentinelaError as error:
        print(f"centinela: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("centinela: interrupted", file=sys.stderr)
        return 130


def _command_in(arguments: Sequence[str]) -> str | None:
    """The first argument that is not an option: the subcommand, if the line has one."""
    return next((argument for argument in arguments if not argument.startswith("-")), None)


def configure_logging(*, verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # Client libraries are chatty at INFO; their warnings still show.
    for noisy in ("kafka", "aiokafka", "urllib3", "alembic", "mlflow.store", "faust", "mode"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
