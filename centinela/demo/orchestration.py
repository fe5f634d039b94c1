"""Runs the whole loop on the local stack: stack, champion, workers, scenario, view, summary."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from rich.console import Console
from rich.live import Live

from centinela.contract.settings import Settings
from centinela.contract.topics import create_topics
from centinela.demo.closing_summary import (
    html_report_lines,
    live_evidence_lines,
    print_summary,
    scenario_end,
)
from centinela.demo.observer import DemoState, TopicObserver
from centinela.demo.processes import Worker
from centinela.demo.view import render
from centinela.exceptions import CentinelaError
from centinela.stack import KafkaBroker, MlflowServer
from centinela.stack.commands import local_stack

log = logging.getLogger(__name__)


class DemoError(CentinelaError):
    """A step of the demo failed; the message says which and where its log is."""


@dataclass(frozen=True)
class DemoOptions:
    scenario: str = "mixed"
    events: int = 80_000
    rate: float = 4_000.0
    seed: int = 7
    keep: bool = False
    ready_timeout_s: float = 180.0
    drain_timeout_s: float = 240.0


def run_demo(settings: Settings, options: DemoOptions, console: Console) -> int:
    log_dir = settings.home / "demo"
    settings = run_settings(settings, datetime.now(UTC))
    # Workers read the same settings, with this run's topic prefix.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CENTINELA_TOPIC_PREFIX": settings.topic_prefix}
    # The scenario is finite: once its labels are in, a retrain waiting for more waits in vain,
    # so the demo bounds that wait below its own drain timeout (unless told otherwise).
    env.setdefault("CENTINELA_RETRAIN_WAIT_SECONDS", str(int(options.drain_timeout_s // 2)))
    started_stack = _start_stack(settings, console)
    workers = [
        Worker("stream", ["stream"], log_dir),
        Worker("retrain", ["retrain"], log_dir),
    ]
    observer = TopicObserver(settings, DemoState())
    try:
        console.print(f"topics: {len(create_topics(settings).created)} created")
        _bootstrap(options, log_dir, env, console)
        for worker in workers:
            worker.start(env)
        observer.start()
        observer.wait_positioned()
        _wait_ready(settings, workers[0], options.ready_timeout_s, console)
        manifest = log_dir / f"{options.scenario}-{options.seed}.manifest.json"
        producer = Worker("produce", _produce_args(options, manifest), log_dir)
        producer.start(env)
        _watch(observer.state, producer, workers, options, manifest)
        print_summary(console, observer.state, manifest, settings, producer_rc=producer.wait())
        for line in [*live_evidence_lines(settings), *html_report_lines(settings)]:
            console.print(line)
        return 0
    finally:
        observer.stop()
        for worker in workers:
            worker.stop()
        if options.keep:
            console.print("workers stopped; the stack keeps running (`centinela down` stops it)")
        else:
            for part in started_stack:
                part.stop()
            console.print("stopped everything the demo started")


def run_settings(settings: Settings, started: datetime) -> Settings:
    """The settings of one demo run: its own topics and consumer groups.

    Every run replays the same scenario clock. On the topics of an earlier run, the worker's
    restored state has already closed those windows, and every event would be late.

    >>> from datetime import UTC, datetime
    >>> run_settings(Settings(_env_file=None), datetime(2026, 11, 26, 16, 5, 9, tzinfo=UTC)
    ...              ).topic_prefix
    'centinela.demo-20261126-160509.'
    """
    prefix = f"{settings.topic_prefix}demo-{started:%Y%m%d-%H%M%S}."
    return settings.model_copy(update={"topic_prefix": prefix})


def _start_stack(settings: Settings, console: Console) -> list[KafkaBroker | MlflowServer]:
    started: list[KafkaBroker | MlflowServer] = []
    broker, mlflow = local_stack(settings)
    for name, part in (("Kafka", broker), ("MLflow", mlflow)):
        if part.running():
            console.print(f"{name} already running")
            continue
        with console.status(f"starting {name}..."):
            part.start()
        started.append(part)
    console.print(f"Kafka at {broker.bootstrap_servers}, MLflow UI at {mlflow.tracking_uri}")
    return started


def _bootstrap(options: DemoOptions, log_dir: Path, env: dict[str, str], console: Console) -> None:
    bootstrap = Worker(
        "bootstrap", ["bootstrap", "--scenario", options.scenario, "--force"], log_dir
    )
    with console.status("training the first champion..."):
        bootstrap.start(env)
        if bootstrap.wait(timeout=600) != 0:
            raise DemoError(f"bootstrap failed; see {bootstrap.log_path}:\n{bootstrap.tail()}")
    console.print(bootstrap.tail(2))


def _wait_ready(settings: Settings, stream: Worker, timeout: float, console: Console) -> None:
    url = f"http://127.0.0.1:{settings.stream_web_port}/ready"
    with console.status("waiting for the stream worker to load the champion..."):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not stream.running():
                raise DemoError(
                    f"the stream worker exited; see {stream.log_path}:\n{stream.tail()}"
                )
            if _answers(url):
                return
            time.sleep(0.5)
    raise DemoError(f"the stream worker was not ready in {timeout:.0f}s; see {stream.log_path}")


def _watch(
    state: DemoState,
    producer: Worker,
    workers: list[Worker],
    options: DemoOptions,
    manifest: Path,
) -> None:
    """Show the live view while the scenario plays, then until the loop has caught up."""
    with Live(
        render(state, target=options.events, stage="producing"), refresh_per_second=4
    ) as live:

        def show(stage: str) -> None:
            live.update(render(state, target=options.events, stage=stage))

        _until(lambda: not producer.running(), float("inf"), workers, lambda: show("producing"))
        last_event = scenario_end(manifest)
        _until(
            lambda: _caught_up(state, last_event),
            options.drain_timeout_s,
            workers,
            lambda: show("draining"),
        )


def _until(
    done: Callable[[], bool], timeout: float, workers: list[Worker], tick: Callable[[], None]
) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        for worker in workers:
            if not worker.running():
                raise DemoError(f"the {worker.name} worker exited; see {worker.log_path}")
        tick()
        time.sleep(0.25)
    tick()


def _caught_up(state: DemoState, last_event: datetime | None) -> bool:
    """Every sent event scored; the window of the last event reported (its drift is in the
    summary; the worker closes it once the stream has been idle for a window plus the allowed
    lateness); and a requested retrain has produced its challenger (or failed)."""
    with state.lock:
        scored_all = state.sent > 0 and state.scored >= state.sent
        reported = last_event is None or any(r.window_end > last_event for r in state.reports)
        outcomes = {
            e.request_id for e in state.model_events if e.event_type in ("registered", "failed")
        }
        retrain_done = all(r.request_id in outcomes for r in state.retrain_requests)
    return scored_all and reported and retrain_done


def _produce_args(options: DemoOptions, manifest: Path) -> list[str]:
    return [
        "produce",
        "--scenario", options.scenario,
        "--events", str(options.events),
        "--rate", str(options.rate),
        "--seed", str(options.seed),
        "--manifest", str(manifest),
    ]  # fmt: skip


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False
