"""`centinela topics create|list`."""

from __future__ import annotations

import argparse

from centinela.cli import Subcommands
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics, create_topics


def create(args: argparse.Namespace, settings: Settings) -> int:
    result = create_topics(settings)
    for name in result.created:
        print(f"created  {name} ({settings.topic_partitions} partitions)")
    for name in result.existing:
        print(f"exists   {name}")
    return 0


def show(args: argparse.Namespace, settings: Settings) -> int:
    for name in Topics.from_settings(settings).names():
        print(name)
    return 0


def register(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser("topics", help="create or list Centinela's Kafka topics")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("create", help="create every topic (idempotent)").set_defaults(
        handler=create
    )
    actions.add_parser("list", help="print the topic names").set_defaults(handler=show)
