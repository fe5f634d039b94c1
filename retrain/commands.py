"""``centinela retrain`` (the worker) and ``centinela models`` (the review flow)."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import signal
from datetime import UTC, datetime
from types import FrameType

from centinela.cli import Subcommands
from centinela.contract.records import ModelEvent
from centinela.contract.settings import Settings
from centinela.exceptions import CentinelaError
from centinela.models.registry import check_credentials
from retrain.events import ModelEventPublisher
from retrain.exceptions import RetrainError, ReviewError
from retrain.live_evidence import (
    LiveEvidence,
    describe_stream_evidence,
    gather_live_evidence,
    stream_evidence,
)
from retrain.report import render_comparison, render_status
from retrain.review import Review, VersionInfo
from retrain.submit import manual_request, parse_duration, parse_moment, publish_request
from retrain.worker import RetrainWorker

log = logging.getLogger(__name__)


# --- centinela retrain ----------------------------------------------------------------------
def register_retrain(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "retrain",
        help="run the retrain worker: turn retrain requests into challengers",
        description="Consume retrain-requests in the consumer group CENTINELA_RETRAIN_GROUP_ID; "
        "for each, read the labeled range, train with the champion's recipe, evaluate against "
        "the champion and register a challenger (alias `challenger`). Stop with Ctrl-C/SIGTERM.",
    )
    parser.add_argument(
        "--max-requests", type=int, default=None, help="exit after handling this many requests"
    )
    parser.add_argument(
        "--attempts", type=int, default=3, help="tries per request when MLflow/Kafka are away"
    )
    parser.set_defaults(handler=run_worker)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    request = actions.add_parser(
        "request",
        help="ask the worker for a challenger trained on a range of event time",
        description="Publish a manual RetrainRequest for the current champion; the worker "
        "(`centinela retrain`) picks it up. Give --last, or --from (and --until).",
    )
    request.add_argument("--last", help="the most recent span, e.g. 6h, 90m, 2d")
    request.add_argument("--from", dest="start", help="start, ISO 8601 with time zone")
    request.add_argument("--until", help="end, ISO 8601 with time zone (default: now)")
    request.add_argument("--reason", default="", help="a note kept with the request")
    request.add_argument("--actor", default=None, help="who asks (default: your login name)")
    request.set_defaults(handler=submit_request)


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    check_credentials(settings)  # a wrong password stops the worker here, with the settings named
    worker = RetrainWorker(settings, attempts=max(1, args.attempts))

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping after the current request")
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    handled = worker.serve(max_requests=args.max_requests)
    print(f"handled {handled} retrain request(s)")
    return 0


def submit_request(args: argparse.Namespace, settings: Settings) -> int:
    until = parse_moment(args.until) if args.until else datetime.now(UTC)
    if bool(args.last) == bool(args.start):
        raise RetrainError("give either --last DURATION or --from TIME")
    start = until - parse_duration(args.last) if args.last else parse_moment(args.start)
    actor = args.actor or getpass.getuser()
    request = manual_request(settings, start, until, actor=actor, note=args.reason)
    publish_request(settings, request)
    print(
        f"requested {request.request_id}: retrain {request.model_name} (champion "
        f"v{request.champion_version}) on {start.isoformat()} .. {until.isoformat()}"
    )
    return 0


# --- centinela models -----------------------------------------------------------------------
def register_models(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "models", help="review challengers: status, compare, promote, reject, rollback"
    )
    parser.add_argument("--model", help="registered model name (default CENTINELA_MODEL_NAME)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    status = actions.add_parser("status", help="champion, challenger, earlier champions, moves")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=show_status)

    compare = actions.add_parser("compare", help="champion vs challenger on the hold-out")
    compare.add_argument("--json", action="store_true", help="machine-readable output")
    compare.set_defaults(handler=show_comparison)

    promote = actions.add_parser("promote", help="make a version (default: challenger) champion")
    promote.add_argument("version", nargs="?", help="version to promote (default: @challenger)")
    promote.add_argument("--force", action="store_true", help="promote even a rejected version")
    _expect(promote)
    _who_and_why(promote, reason_required=True)
    promote.set_defaults(handler=do_promote)

    reject = actions.add_parser("reject", help="turn a challenger down")
    reject.add_argument("version", help="version to reject")
    _who_and_why(reject, reason_required=True)
    reject.set_defaults(handler=do_reject)

    rollback = actions.add_parser("rollback", help="restore the previous champion")
    _expect(rollback)
    _who_and_why(rollback, reason_required=False)
    rollback.set_defaults(handler=do_rollback)


def _expect(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expect",
        metavar="VERSION",
        default=None,
        help="do nothing unless the champion is VERSION now (the move fails, exit 2, if another "
        "move came first either way)",
    )


def _who_and_why(parser: argparse.ArgumentParser, *, reason_required: bool) -> None:
    parser.add_argument(
        "--reason", required=reason_required, default="rollback", help="why (recorded)"
    )
    parser.add_argument("--actor", default=None, help="who (default: your login name)")


def show_status(args: argparse.Namespace, settings: Settings) -> int:
    status = _review(args, settings, publisher=None).status()
    print(json.dumps(status.to_dict(), indent=2) if args.json else render_status(status))
    return 0


def show_comparison(args: argparse.Namespace, settings: Settings) -> int:
    review = _review(args, settings, publisher=None)
    champion, challenger = review.compare()
    live = None if champion is None else _live(settings, review, champion, challenger)
    streamed = None if champion is None else _streamed(settings, champion, challenger)
    if args.json:
        document = {
            "champion": champion.to_dict() if champion else None,
            "challenger": challenger.to_dict(),
            "live": live.to_dict() if isinstance(live, LiveEvidence) else live,
            "stream_live": streamed,
        }
        print(json.dumps(document, indent=2))
    else:
        print(render_comparison(champion, challenger))
        if live is not None:
            print(live.describe() if isinstance(live, LiveEvidence) else live)
        if isinstance(streamed, dict) and champion is not None:
            print(describe_stream_evidence(streamed, champion.version, challenger.version))
        elif streamed is not None:
            print(streamed)
    return 0


def do_promote(args: argparse.Namespace, settings: Settings) -> int:
    settings = _for_model(args, settings)
    if not args.force:
        _refuse_if_live_evidence_says_worse(settings, _review(args, settings, None), args.version)
    with ModelEventPublisher(settings) as publisher:
        event = _review(args, settings, publisher).promote(
            args.version, args.reason, force=args.force, expected=args.expect
        )
    return _done(event)


def do_reject(args: argparse.Namespace, settings: Settings) -> int:
    with ModelEventPublisher(_for_model(args, settings)) as publisher:
        event = _review(args, settings, publisher).reject(args.version, args.reason)
    return _done(event)


def do_rollback(args: argparse.Namespace, settings: Settings) -> int:
    with ModelEventPublisher(_for_model(args, settings)) as publisher:
        event = _review(args, settings, publisher).rollback(args.reason, expected=args.expect)
    return _done(event)


def _live(
    settings: Settings, review: Review, champion: VersionInfo, challenger: VersionInfo
) -> LiveEvidence | str:
    """The live evidence, or why there is none (the hold-out comparison stands alone then)."""
    try:
        return gather_live_evidence(settings, review.catalog, champion.version, challenger.version)
    except CentinelaError as error:
        return f"live: no evidence read ({error})"


def _streamed(
    settings: Settings, champion: VersionInfo, challenger: VersionInfo
) -> dict[str, float | int | str | None] | str | None:
    """The stream's running comparison of the two, None before any window had it, or why it
    could not be read."""
    try:
        return stream_evidence(settings, champion.version, challenger.version)
    except CentinelaError as error:
        return f"stream: no evidence read ({error})"


def _refuse_if_live_evidence_says_worse(
    settings: Settings, review: Review, version: str | None
) -> None:
    champion, challenger = review.compare(version)
    if champion is None or champion.version == challenger.version:
        return
    live = _live(settings, review, champion, challenger)
    print(live.describe() if isinstance(live, LiveEvidence) else live)
    if isinstance(live, LiveEvidence) and live.verdict == "worse":
        raise ReviewError(
            f"the live evidence says v{challenger.version} is worse than champion "
            f"v{champion.version}; use --force to promote it anyway"
        )


def _review(
    args: argparse.Namespace, settings: Settings, publisher: ModelEventPublisher | None
) -> Review:
    actor = getattr(args, "actor", None) or getpass.getuser()
    return Review(_for_model(args, settings), publisher, actor=actor)


def _for_model(args: argparse.Namespace, settings: Settings) -> Settings:
    if args.model and args.model != settings.model_name:
        return settings.model_copy(update={"model_name": args.model})
    return settings


def _done(event: ModelEvent) -> int:
    was = f" (was v{event.previous_version})" if event.previous_version else ""
    print(f"{event.event_type}: {event.model_name} v{event.version}{was} by {event.actor}")
    return 0
