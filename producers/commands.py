"""`centinela produce` and `centinela bootstrap`.

centinela produce --list
centinela produce --scenario NAME --events N --rate R --seed S --manifest PATH
centinela produce --replay river:phishing --rate 0
centinela produce --source agrawal --drift concept@20000 --label-delay exponential:300
centinela bootstrap --scenario NAME [--trainer T] [--force]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from centinela.cli import Subcommands
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics, create_topics
from centinela.models.trainers import DEFAULT_TRAINER, available_trainers
from producers.bootstrap import bootstrap
from producers.catalogue import EVENTS_PER_WINDOW, get_scenario, list_scenarios
from producers.clock import EventClock
from producers.delays import LabelDelay
from producers.exceptions import ProducerError, ScenarioError
from producers.publisher import Publisher
from producers.runner import ProduceRun, RunOptions
from producers.scenario import DeliveryPlan, Scenario, ScenarioStream
from producers.sources import ColumnMapping, SourceSpec
from producers.specs import parse_drift, parse_source

log = logging.getLogger(__name__)

PROGRESS_MIN_EVENTS = 10_000


# --- shared: which events ---------------------------------------------------------------------
def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("what to send")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--scenario", metavar="NAME", help="a named scenario (see --list)")
    choice.add_argument(
        "--source",
        metavar="SPEC",
        help="an ad hoc source NAME[:key=value,...]: gaussian, agrawal, sea, hyperplane, "
        "rbf_drift, concept_drift_stream",
    )
    choice.add_argument(
        "--replay", metavar="PATH", help="replay a CSV/Parquet file (or river:phishing)"
    )
    group.add_argument(
        "--drift",
        metavar="SPEC",
        action="append",
        default=[],
        help="add a drift KIND@START[+WIDTH][~UNTIL][:key=value,...], KIND covariate|prior|"
        "concept, lists separated by '/', e.g. covariate@20000+5000:features=x0/x5,shift=1",
    )
    group.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    mapping = parser.add_argument_group("replay column mapping")
    mapping.add_argument("--label-column", metavar="COL")
    mapping.add_argument("--feature-columns", metavar="A,B,...", help="default: all others")
    mapping.add_argument("--categorical-columns", metavar="A,B,...", default="")
    mapping.add_argument("--time-column", metavar="COL", help="event time from this column")
    mapping.add_argument("--id-column", metavar="COL", help="event id from this column")


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    drifts = tuple(parse_drift(text) for text in args.drift)
    if args.replay:
        mapping = ColumnMapping(
            path=args.replay,
            label=args.label_column,
            features=_names(args.feature_columns),
            categorical=_names(args.categorical_columns),
            time_column=args.time_column,
            id_column=args.id_column,
        )
        source = SourceSpec("replay", mapping=mapping)
        name = f"replay-{Path(args.replay.removeprefix('river:')).name}"
        return Scenario(name, f"replay of {args.replay}", source, drifts, default_events=0)
    if args.source:
        source = parse_source(args.source)
        return Scenario(f"source-{source.name}", f"ad hoc {args.source}", source, drifts)
    return get_scenario(args.scenario or "stable").with_drifts(drifts)


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


# --- produce ----------------------------------------------------------------------------------
def produce(args: argparse.Namespace, settings: Settings) -> int:
    if args.list:
        print_catalogue()
        return 0
    if args.rate < 0:
        raise ProducerError("--rate must be >= 0 (0: as fast as possible)")
    scenario = scenario_from_args(args)
    plan = DeliveryPlan(
        label_delay=LabelDelay.parse(args.label_delay, unit=args.label_delay_unit),
        missing_share=args.missing_labels,
        jitter_seconds=args.jitter,
        labels=not args.no_labels,
    )
    stream = ScenarioStream(scenario, args.seed, plan)  # bad specs fail here, before Kafka
    events = _events(args, scenario)
    run_id = args.run_id or f"{scenario.name}-s{args.seed}-{uuid.uuid4().hex[:6]}"
    manifest = Path(args.manifest) if args.manifest else _default_manifest(settings, run_id)
    topics = Topics.from_settings(settings)
    publisher = Publisher(settings)
    publisher.check_connection()  # a missing broker fails here, quickly and clearly
    create_topics(settings)  # idempotent
    show = not args.no_progress and sys.stderr.isatty()
    options = RunOptions(
        events=events,
        rate=args.rate,
        run_id=run_id,
        manifest=manifest,
        progress=show and (events is None or events >= PROGRESS_MIN_EVENTS),
    )
    run = ProduceRun(
        stream,
        publisher,
        topics,
        _clock(args, settings),
        options,
        description={"scenario": scenario.name, "description": scenario.description,
                     "source": stream.source.describe()},
    )  # fmt: skip
    with _signals_stop(run):
        result = run.run()
    print(result.summary(topics))
    print(f"manifest: {manifest}", flush=True)
    publisher.raise_on_failures()
    return 130 if result.interrupted and events is not None else 0


def _events(args: argparse.Namespace, scenario: Scenario) -> int | None:
    if args.forever or args.events == 0:
        return None
    if args.events is not None:
        if args.events < 0:
            raise ProducerError("--events must be >= 0 (0: until stopped)")
        return int(args.events)
    return scenario.default_events or None  # a replay runs to the end of its file


def _clock(args: argparse.Namespace, settings: Settings) -> EventClock:
    if args.clock == "wall":
        return EventClock("wall")
    nominal = args.nominal_rate or EVENTS_PER_WINDOW / settings.window_seconds
    if nominal <= 0:
        raise ProducerError("--nominal-rate must be > 0")
    return EventClock.scenario(
        seed=args.seed,
        nominal_rate=nominal,
        window_seconds=settings.window_seconds,
        epoch=_epoch(args.epoch),
    )


def _epoch(text: str | None) -> datetime | None:
    if text is None:
        return None
    if text == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ProducerError(f"--epoch {text!r} is not an ISO 8601 time (or 'now')") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _default_manifest(settings: Settings, run_id: str) -> Path:
    return settings.home / "manifests" / f"{run_id}.json"


@contextlib.contextmanager
def _signals_stop(run: ProduceRun) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the run at the next chunk: flush, write the manifest, exit
    cleanly. A flag rather than an exception raised wherever the signal lands (inside a send,
    a delivery callback or a lock). A second signal interrupts at once."""

    def stop(signum: int, frame: Any) -> None:
        if run.stop_requested:
            raise KeyboardInterrupt
        run.request_stop()

    try:
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread (e.g. called from a test): leave signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def print_catalogue() -> None:
    scenarios = list_scenarios()
    width = max(len(s.name) for s in scenarios)
    print(f"{'SCENARIO':<{width}}  {'EVENTS':>7}  DESCRIPTION")
    for scenario in scenarios:
        print(f"{scenario.name:<{width}}  {scenario.default_events:>7,}  {scenario.description}")


def register_produce(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "produce",
        help="publish feature events and delayed labels with known drift",
        description="Publish FeatureEvents to the features topic and, after a delay, "
        "LabelEvents to the labels topic (both keyed by event id), from a scenario with known "
        "change points or a replayed file; write a ground-truth manifest.",
    )
    parser.add_argument("--list", action="store_true", help="list the named scenarios")
    add_source_arguments(parser)
    run = parser.add_argument_group("how to send")
    run.add_argument("--events", type=int, help="events to send (0: until stopped)")
    run.add_argument("--forever", action="store_true", help="send until Ctrl-C / SIGTERM")
    run.add_argument("--rate", type=float, default=1000.0, help="events/s (0: as fast as possible)")
    run.add_argument(
        "--label-delay",
        default="fixed:500",
        metavar="SPEC",
        help="fixed:D, exponential:MEAN, uniform:LO,HI or lognormal:MEDIAN,SIGMA",
    )
    run.add_argument("--label-delay-unit", choices=("events", "seconds"), default="events")
    run.add_argument(
        "--missing-labels", type=float, default=0.0, metavar="SHARE",
        help="share of labels that never arrive",
    )  # fmt: skip
    run.add_argument("--no-labels", action="store_true", help="send no labels at all")
    run.add_argument(
        "--jitter", type=float, default=0.0, metavar="SECONDS",
        help="hold each event back up to this many seconds of event time (out of order)",
    )  # fmt: skip
    run.add_argument(
        "--clock",
        choices=("scenario", "wall"),
        default="scenario",
        help="event time: scenario clock at a nominal rate (reproducible) or wall time",
    )
    run.add_argument(
        "--nominal-rate", type=float, metavar="EV/S",
        help=f"scenario clock rate (default: {EVENTS_PER_WINDOW:,} events per drift window)",
    )  # fmt: skip
    run.add_argument("--epoch", help="scenario clock start, ISO 8601 or 'now' (default per seed)")
    run.add_argument("--run-id", help="prefix of the event ids (default: scenario-seed-random)")
    run.add_argument("--manifest", metavar="PATH", help="ground-truth manifest JSON path")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=produce)


# --- bootstrap --------------------------------------------------------------------------------
def run_bootstrap(args: argparse.Namespace, settings: Settings) -> int:
    scenario = scenario_from_args(args)
    try:
        params = json.loads(args.params) if args.params else {}
    except ValueError as error:
        raise ScenarioError(f"--params is not JSON: {error}") from None
    if not isinstance(params, dict):
        raise ScenarioError("--params must be a JSON object")
    result = bootstrap(
        settings,
        scenario,
        trainer=args.trainer,
        params=params,
        rows=args.rows,
        validation_share=args.validation_share,
        seed=args.seed,
        force=args.force,
    )
    print(result.summary())
    return 0


def register_bootstrap(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "bootstrap",
        help="train the first champion on a scenario's pre-drift data and register it",
        description="Train a named trainer on the scenario's pre-drift data, log the run "
        "(params, validation metrics, dataset, signature, reference profile) to MLflow, "
        "register the version and set the alias champion.",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--trainer", default=DEFAULT_TRAINER, choices=available_trainers(), help="named trainer"
    )
    parser.add_argument("--params", help="trainer parameters as a JSON object")
    parser.add_argument("--rows", type=int, default=40_000, help="pre-drift rows to draw")
    parser.add_argument("--validation-share", type=float, default=0.25)
    parser.add_argument(
        "--force", action="store_true", help="register a new champion even if one exists"
    )
    parser.set_defaults(handler=run_bootstrap)
