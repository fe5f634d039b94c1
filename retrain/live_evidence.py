"""Live evidence at review time: challenger against champion on the labeled events that came
after the challenger's training data.

The hold-out comparison says how a challenger did on a few hundred rows of the past. The
``labeled`` topic holds every event the stream scored and joined with its label, with the
champion's prediction; the challenger is asked about the same events (one vectorised predict),
so each event gives a paired pair of 0/1 errors. Only events after the end of the challenger's
training range count (its run's ``centinela.data.until``, else the version's creation), and
only those the current champion scored. The pairs feed
:class:`~centinela.models.live_comparison.LiveComparison`, a test that stays valid however
often it is looked at: "better", "worse" or "not yet known", with a confidence sequence for
the accuracy difference. ``centinela models compare`` shows it; ``centinela models promote``
refuses a challenger the live evidence calls worse unless ``--force``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from centinela.contract.codec import decode
from centinela.contract.records import DriftReport, LabeledExample
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.exceptions import DecodeError
from centinela.models.live_comparison import LiveComparison
from centinela.models.registry import LoadedModel, load_model
from retrain.catalog import Catalog
from retrain.data import read_examples, read_tail

log = logging.getLogger(__name__)

TRAINED_UNTIL_TAG = "centinela.data.until"
DRIFT_TAIL = 500  # drift reports read back per partition for the stream's running comparison


@dataclass(frozen=True)
class LiveEvidence:
    """The paired comparison of two versions on live labeled events."""

    champion_version: str
    challenger_version: str
    since: datetime
    comparison: LiveComparison

    @property
    def verdict(self) -> str:
        return self.comparison.verdict()

    def describe(self) -> str:
        c = self.comparison
        if not c.n:
            return (
                f"live: no labeled event scored by champion v{self.champion_version} since "
                f"{self.since:%Y-%m-%d %H:%M:%S} (the end of v{self.challenger_version}'s "
                "training data) yet: not yet known"
            )
        low, high = c.interval()
        return (
            f"live: {c.n:,} labeled events since {self.since:%Y-%m-%d %H:%M:%S} compared; "
            f"accuracy of v{self.challenger_version} minus v{self.champion_version} "
            f"{c.difference():+.4f}, {1 - c.alpha:.0%} confidence sequence [{low:+.4f}, "
            f"{high:+.4f}]; verdict: {self.verdict}"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "since": self.since.isoformat(),
            **self.comparison.to_dict(),
        }


def gather_live_evidence(
    settings: Settings,
    catalog: Catalog,
    champion_version: str,
    challenger_version: str,
    *,
    loaded: dict[str, LoadedModel] | None = None,
) -> LiveEvidence:
    """Read the labeled events since the challenger's training data and compare the two.

    ``loaded`` keeps loaded versions between calls (a version never changes), for a caller
    that looks again and again."""
    since = trained_until(catalog, challenger_version)
    topic = Topics.from_settings(settings).labeled
    examples, _ = read_examples(settings, topic, since, datetime.now(UTC))
    scored = [e for e in examples if e.model_version == champion_version]
    comparison = LiveComparison(alpha=settings.live_comparison_alpha)
    if scored:
        cache = {} if loaded is None else loaded
        if challenger_version not in cache:
            cache.clear()  # only the version being looked at is worth keeping
            cache[challenger_version] = load_model(settings, version=challenger_version)
        challenger = cache[challenger_version]
        comparison.update(*paired_errors(scored, challenger.predict(_frame(scored))[0]))
    log.info(
        "live evidence for v%s against v%s: %d of %d labeled events since %s",
        challenger_version,
        champion_version,
        len(scored),
        len(examples),
        since.isoformat(),
    )
    return LiveEvidence(champion_version, challenger_version, since, comparison)


def stream_evidence(
    settings: Settings, champion_version: str, challenger_version: str
) -> dict[str, float | int | str | None] | None:
    """The stream's own running comparison of the two (the always-valid test over the labeled
    events the challenger scored in the shadow, window after window): the ``challenger_live``
    of the newest drift report that has it, among the last :data:`DRIFT_TAIL` per partition;
    None when no report has it."""
    newest: DriftReport | None = None
    for value in read_tail(settings, Topics.from_settings(settings).drift, DRIFT_TAIL):
        try:
            report = decode(DriftReport, value, max_bytes=settings.max_message_bytes)
        except DecodeError:
            continue  # the merger wrote it; an unreadable one is no evidence either way
        pair = (report.model_name, report.model_version, report.challenger_version)
        wanted = pair == (settings.model_name, champion_version, challenger_version)
        later = newest is None or report.window_id >= newest.window_id
        if wanted and report.challenger_live and later:
            newest = report
    return None if newest is None else newest.challenger_live


def describe_stream_evidence(
    live: dict[str, float | int | str | None], champion_version: str, challenger_version: str
) -> str:
    """One line for people, as :meth:`LiveEvidence.describe` for the review-time evidence.

    >>> describe_stream_evidence({"events": 1200, "difference": -0.21, "interval_low": -0.26,
    ...     "interval_high": -0.16, "alpha": 0.05, "verdict": "worse", "through_window": 88},
    ...     "1", "2")  # doctest: +NORMALIZE_WHITESPACE
    'stream: 1,200 labeled events scored by both through window 88; accuracy of v2 minus v1
    -0.2100, 95% confidence sequence [-0.2600, -0.1600]; verdict: worse'
    """
    alpha = float(live.get("alpha") or 0.05)
    return (
        f"stream: {int(live.get('events') or 0):,} labeled events scored by both through window "
        f"{live.get('through_window')}; accuracy of v{challenger_version} minus "
        f"v{champion_version} {float(live.get('difference') or 0):+.4f}, {1 - alpha:.0%} "
        f"confidence sequence [{float(live.get('interval_low') or 0):+.4f}, "
        f"{float(live.get('interval_high') or 0):+.4f}]; verdict: {live.get('verdict')}"
    )


def paired_errors(
    examples: list[LabeledExample], challenger_predicted: Iterable[object]
) -> tuple[list[int], list[int]]:
    """The champion's errors (from its recorded predictions) and the challenger's, paired.

    Classes are compared as text, as the stream matches labels to the profile's classes.

    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> rows = [LabeledExample(event_id=f"e{i}", event_time=t, features={"x": 1.0},
    ...     model_name="m", model_version="1", predicted_class=p, label=1, label_time=t)
    ...     for i, p in enumerate([1, 0, 0])]
    >>> paired_errors(rows, [0, 1, 0])
    ([0, 1, 1], [1, 0, 1])
    """
    truth = [str(e.label) for e in examples]
    champion = [int(str(e.predicted_class) != t) for e, t in zip(examples, truth, strict=True)]
    challenger = [int(str(p) != t) for p, t in zip(challenger_predicted, truth, strict=True)]
    return champion, challenger


def trained_until(catalog: Catalog, version: str) -> datetime:
    """The end of a version's training data (event time), else when it was registered."""
    found = catalog.version(version)
    if found.run_id:
        until = catalog.client.get_run(found.run_id).data.tags.get(TRAINED_UNTIL_TAG)
        if until:
            return datetime.fromisoformat(until)
    return datetime.fromtimestamp(int(found.creation_timestamp or 0) / 1000, UTC)


def _frame(examples: list[LabeledExample]) -> pd.DataFrame:
    return pd.DataFrame.from_records([e.features for e in examples])
