"""`centinela stream`: run one stream worker against the configured stack.

Start as many as you like with the same settings: they share the partitions (one consumer
group) and their drift windows merge into the same reports (docs/architecture.md, "Scaling
out").
"""

from __future__ import annotations

import argparse
import gc
import logging

from centinela.cli import Subcommands
from centinela.contract.settings import Settings

log = logging.getLogger(__name__)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from stream.memory import leave_out_arrow

    leave_out_arrow()  # before pandas is imported, below
    # Imported here: `centinela --help` must not pay for Faust, MLflow and scikit-learn.
    from faust.worker import Worker

    from centinela.models.registry import check_credentials
    from stream.app import build_app, build_components
    from stream.internal_topics import ensure_stream_topics
    from stream.math_threads import limit_math_threads
    from stream.memory import free_dropped_fetches, tune_malloc

    tune_malloc()
    free_dropped_fetches()
    limit_math_threads(settings.stream_math_threads)
    check_credentials(settings)  # a wrong password stops the worker here, with the settings named
    parts = build_components(settings)  # the topic names too, once for the whole worker
    ensure_stream_topics(settings, parts.topics, parts.internal)
    app, _ = build_app(settings, parts)
    tune_garbage_collector()
    log.info(
        "stream worker %s: topics %s*, web on :%d, MLflow %s",
        settings.stream_app_id,
        settings.topic_prefix,
        settings.stream_web_port,
        settings.mlflow_address,
    )
    worker = Worker(
        app,
        loglevel="DEBUG" if args.verbose else "WARN",
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def tune_garbage_collector() -> None:
    """The worker keeps many small objects alive (the join, open windows) and allocates fast:
    with CPython's default thresholds collections ate a third of the CPU. Objects alive at
    start are frozen out of collections, and young collections run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def register(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "stream",
        help="run a stream worker: score, join labels, detect drift, request retraining",
        description=__doc__,
    )
    parser.set_defaults(handler=run)
