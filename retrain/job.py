"""One retrain request, start to finish: read, validate, train, evaluate, register.

:func:`run_request` returns the ``registered`` ModelEvent or raises; the worker decides what a
failure means (retry, or a ``failed`` event). Re-running a request is safe: a complete version
for it is found and re-announced, an incomplete one is deleted before training again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from centinela.contract.records import ModelEvent, RetrainRequest
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.models.registry import LoadedModel, load_model
from retrain.catalog import Catalog
from retrain.data import TrainingData, read_labeled
from retrain.data_checks import align_labels, check_features, require_classes, validate
from retrain.evaluation import (
    DECISION_METRIC,
    Comparison,
    compare,
    measure_baseline,
    split_baseline,
    split_holdout,
)
from retrain.exceptions import TrainingDataError
from retrain.gathering import Gathering, gather, last_event_time
from retrain.lineage import LabeledTopicSource, read_training_data
from retrain.registration import (
    COMPARISON_TAG,
    PARENT_TAG,
    Candidate,
    discard,
    lineage_tags,
    prior_outcome,
    publish,
    register,
)
from retrain.stages import StageClock
from retrain.training import challenger_profile, champion_recipe, fit, mix_champion_data

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registered:
    """The outcome of a request that produced (or had already produced) a challenger."""

    event: ModelEvent
    comparison: Comparison
    resumed: bool
    seconds: dict[str, float]


def settings_for(settings: Settings, model_name: str) -> Settings:
    """The same settings, pointed at the model a request names."""
    if model_name == settings.model_name:
        return settings
    return settings.model_copy(update={"model_name": model_name})


def run_request(
    settings: Settings,
    request: RetrainRequest,
    topics: Topics | None = None,
    pause: Callable[[float], bool] | None = None,
) -> Registered:
    """Carry out ``request``; raise a CentinelaError (or a client error) if it cannot be done.
    The worker passes the topics it built, and ``pause`` (its stop event's wait) for waiting on
    labels (:mod:`retrain.gathering`); a one-off call may leave both out."""
    settings = settings_for(settings, request.model_name)
    clock = StageClock(f"retrain {request.request_id}")
    catalog = Catalog(settings)
    catalog.require_model()
    prior = prior_outcome(catalog, request.request_id, settings.training_experiment)
    if prior.complete is not None:
        return _resume(catalog, request, str(prior.complete.version), clock)
    for leftover in prior.incomplete:
        discard(catalog, str(leftover.version), leftover.run_id, "left by an interrupted attempt")
    champion = load_model(settings)
    recipe = champion_recipe(champion, catalog)
    topic = (topics or Topics.from_settings(settings)).labeled
    with clock.stage("read"):
        data = _gather(settings, topic, request, pause)
        previous = _champion_data(settings, champion)
    source = LabeledTopicSource(
        topic,
        request.train_from.isoformat(),
        last_event_time(data, request.train_until).isoformat(),
        settings.kafka_bootstrap_servers,
    )
    with clock.stage("validate"):
        data = validate(data, champion.profile, min_rows=settings.retrain_min_rows)
        train, holdout = split_holdout(data, settings.retrain_holdout_share)
        require_classes(train.labels, champion.profile.classes, where="the training part")
        train = mix_champion_data(
            train, _usable(previous, champion), settings.retrain_champion_data_share
        )
    with clock.stage("train"):
        model = fit(recipe, train)
    with clock.stage("evaluate"):
        compared, baseline_part = split_baseline(holdout)
        comparison = compare(
            model, champion.model, compared, champion_columns=list(champion.profile.feature_names)
        )
        baseline = measure_baseline(model, baseline_part)
        profile = challenger_profile(
            model, train, baseline, sample_size=settings.reference_sample_size
        )
    tags = lineage_tags(
        request_id=request.request_id,
        trigger=request.reason,
        evidence=request.evidence,
        parent_version=champion.version,
        requested_version=request.champion_version,
        source=source,
    )
    metrics = {
        "rows_read": float(data.n_records),
        "rows_duplicate": float(data.n_duplicates),
        "rows_malformed": float(data.n_malformed),
        "rows_train": float(len(train)),
        "rows_compared": float(len(compared)),
        "rows_baseline": float(len(baseline_part)),
        **clock.as_metrics(),
    }
    candidate = Candidate(
        model, profile, recipe, train, holdout, comparison, source, metrics, tags,
        champion=champion.model,
        champion_columns=list(champion.profile.feature_names),
        compared=compared,
    )  # fmt: skip
    with clock.stage("register"):  # with MLflow's evaluation of both models and its gate
        run_name = f"retrain-{request.request_id}"
        version, comparison = register(settings, catalog, candidate, run_name=run_name)
        publish(catalog, version, request.request_id, request.reason)
    log.info("%s · challenger version %s", clock.summary(), version)
    trained_on = (
        f"{len(data):,} labeled examples of {source.start} .. {source.until}, "
        f"{len(train):,} trained on"
    )
    event = _registered_event(request, version, champion.version, comparison, trained_on)
    return Registered(event, comparison, resumed=False, seconds=dict(clock.seconds))


def _gather(
    settings: Settings,
    topic: str,
    request: RetrainRequest,
    pause: Callable[[float], bool] | None,
) -> TrainingData:
    gathering = Gathering(settings.retrain_target_rows, settings.retrain_wait_seconds)

    def read(start: datetime, until: datetime) -> TrainingData:
        return read_labeled(settings, topic, start, until)

    return gather(request, read, gathering, pause=pause)


def _resume(
    catalog: Catalog, request: RetrainRequest, version: str, clock: StageClock
) -> Registered:
    log.info(
        "request %s already produced version %s of %s; announcing it again, not retraining",
        request.request_id,
        version,
        catalog.name,
    )
    publish(catalog, version, request.request_id, request.reason)
    tags = dict(catalog.version(version).tags or {})
    comparison = Comparison.from_json(tags[COMPARISON_TAG])
    event = _registered_event(request, version, tags.get(PARENT_TAG), comparison)
    return Registered(event, comparison, resumed=True, seconds=dict(clock.seconds))


def _registered_event(
    request: RetrainRequest,
    version: str,
    parent: str | None,
    comparison: Comparison,
    trained_on: str = "",
) -> ModelEvent:
    summary = f"{request.reason}; {trained_on + ', ' if trained_on else ''}hold-out of "
    summary += f"{comparison.n_holdout} rows"
    if DECISION_METRIC in comparison.deltas():
        summary += f", {DECISION_METRIC} {comparison.deltas()[DECISION_METRIC]:+.4f} vs champion"
    return ModelEvent(
        event_type="registered",
        model_name=request.model_name,
        version=version,
        previous_version=parent,
        request_id=request.request_id,
        actor="centinela-retrain",
        reason=summary,
        metrics=comparison.as_metrics(),
    )


def _champion_data(settings: Settings, champion: LoadedModel) -> TrainingData | None:
    if settings.retrain_champion_data_share <= 0:
        return None
    return read_training_data(settings.mlflow_tracking_uri, champion.run_id)


def _usable(previous: TrainingData | None, champion: LoadedModel) -> TrainingData | None:
    """The champion's data if it still fits the profile; a mismatch is logged and skipped."""
    if previous is None:
        return None
    kinds = {name: champion.profile.spec(name).kind for name in champion.profile.feature_names}
    try:
        check_features(previous.features, kinds)
        labels = align_labels(previous.labels, champion.profile.classes)
    except TrainingDataError as error:
        log.warning("not mixing in the champion's training data: %s", error)
        return None
    features = previous.features.loc[:, list(champion.profile.feature_names)]
    return TrainingData(features, labels, previous.event_times, previous.event_ids, previous.source)
