"""The command line loads only the subcommand it runs."""

from __future__ import annotations

import pytest

from centinela.cli import _command_in, build_parser
from tests.fresh_interpreter import run_fresh


def choices(command: str | None) -> set[str]:
    parser = build_parser(command)
    return set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_a_named_subcommand_is_the_only_one_loaded() -> None:
    assert choices("stream") == {"stream"}


@pytest.mark.parametrize("command", [None, "strem", "--help"])
def test_without_a_known_subcommand_every_one_is_offered(command: str | None) -> None:
    assert {"stream", "retrain", "produce", "demo", "up"} <= choices(command)


@pytest.mark.parametrize(
    ("arguments", "command"),
    [(["-v", "stream"], "stream"), (["retrain", "--help"], "retrain"), (["-h"], None), ([], None)],
)
def test_the_subcommand_is_the_first_argument_that_is_not_an_option(
    arguments: list[str], command: str | None
) -> None:
    assert _command_in(arguments) == command


def test_the_stream_command_line_imports_neither_pandas_nor_arrow_before_the_worker_runs() -> None:
    # The worker leaves Arrow out (stream/memory.py): that works only if nothing before its
    # handler imported pandas, which would import Arrow.
    script = (
        "import sys\nfrom centinela.cli import build_parser\nbuild_parser('stream')\n"
        "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    )
    assert run_fresh(script) == "[]"
