"""`centinela demo`: the whole loop, live, on the local stack."""

from __future__ import annotations

import argparse

from rich.console import Console

from centinela.cli import Subcommands
from centinela.contract.settings import Settings
from centinela.demo.orchestration import DemoOptions, run_demo


def demo(args: argparse.Namespace, settings: Settings) -> int:
    options = DemoOptions(
        scenario=args.scenario, events=args.events, rate=args.rate, seed=args.seed, keep=args.keep
    )
    return run_demo(settings, options, Console())


def register(subcommands: Subcommands) -> None:
    defaults = DemoOptions()
    parser = subcommands.add_parser(
        "demo", help="run the whole loop live: stack, champion, workers, a drift scenario"
    )
    parser.add_argument("--scenario", default=defaults.scenario, help="scenario to play")
    parser.add_argument("--events", type=int, default=defaults.events, help="events to send")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="events per second")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="scenario seed")
    parser.add_argument(
        "--keep", action="store_true", help="leave the local stack running afterwards"
    )
    parser.set_defaults(handler=demo)
