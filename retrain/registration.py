"""Registering a challenger so that it is never half there.

Order matters. The run, the model version, its artifacts and its tags are written first; the
version is marked ``centinela.registration=complete`` only when all of them are in; the alias
``challenger`` is set last. A version that is not complete is deleted, either at once (when a
later step fails) or when its request is processed again after a crash; so an alias never points
at a half-registered version, and a request yields exactly one complete version.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, RunTag
from mlflow.entities.model_registry import ModelVersion

from centinela.contract.settings import Settings
from centinela.models.profile import ReferenceProfile
from centinela.models.registry import CHALLENGER, RegisteredModel, log_model_version
from retrain.catalog import REQUEST_TAG, Catalog
from retrain.data import TrainingData
from retrain.evaluation import DECISION_METRIC, Comparison, plot_comparison
from retrain.history import HistoryEntry
from retrain.lineage import LabeledTopicSource, dataset_input, write_training_data
from retrain.mlflow_evaluation import evaluate_and_gate
from retrain.training import Recipe

log = logging.getLogger(__name__)

STATE_TAG = "centinela.registration"
COMPLETE = "complete"
COMPARISON_TAG = "centinela.comparison"
PARENT_TAG = "centinela.parent_version"
REVIEW_TAG = "centinela.review"
_RUN_TAG_LIMIT = 5000  # MLflow caps run tag values at 8,000 characters
# Lineage carried by the version too (the run carries all of it).
VERSION_TAGS = (REQUEST_TAG, "centinela.role", "centinela.trigger", PARENT_TAG)


@dataclass(frozen=True)
class Candidate:
    """A trained and evaluated challenger, not yet in the registry."""

    model: Any
    profile: ReferenceProfile
    recipe: Recipe
    train: TrainingData
    holdout: TrainingData
    comparison: Comparison
    source: LabeledTopicSource
    metrics: dict[str, float]
    tags: dict[str, str]
    champion: Any  # the champion model, for MLflow's evaluation on the same rows
    champion_columns: list[str]
    compared: TrainingData  # the hold-out rows both models were compared on


@dataclass(frozen=True)
class PriorOutcome:
    """What earlier attempts at the same request left in the registry."""

    complete: ModelVersion | None
    incomplete: list[ModelVersion]


def lineage_tags(
    *,
    request_id: str,
    trigger: str,
    evidence: dict[str, Any],
    parent_version: str,
    requested_version: str,
    source: LabeledTopicSource,
) -> dict[str, str]:
    """Tags linking a challenger to what caused it (run and version alike).

    >>> source = LabeledTopicSource("c.labeled", "a", "b", "k:9092")
    >>> tags = lineage_tags(request_id="r-1", trigger="data_drift", evidence={"f": ["x"]},
    ...                     parent_version="3", requested_version="3", source=source)
    >>> tags["centinela.request_id"], tags["centinela.parent_version"]
    ('r-1', '3')
    """
    evidence_text = json.dumps(evidence, sort_keys=True, default=str)
    if len(evidence_text) > _RUN_TAG_LIMIT:
        evidence_text = evidence_text[: _RUN_TAG_LIMIT - 15] + " ...(truncated)"
    return {
        REQUEST_TAG: request_id,
        "centinela.role": CHALLENGER,
        "centinela.trigger": trigger,
        "centinela.evidence": evidence_text,
        PARENT_TAG: parent_version,
        "centinela.requested_champion_version": requested_version,
        "centinela.data.topic": source.topic,
        "centinela.data.from": source.start,
        "centinela.data.until": source.until,
    }


def comparison_tags(comparison: Comparison) -> dict[str, str]:
    """The comparison as one JSON tag, plus the decision metric's delta for quick search."""
    tags = {COMPARISON_TAG: comparison.to_json()}
    if DECISION_METRIC in comparison.deltas():
        tags[f"centinela.delta_{DECISION_METRIC}"] = f"{comparison.deltas()[DECISION_METRIC]:+.6f}"
    return tags


def prior_outcome(catalog: Catalog, request_id: str, experiment: str) -> PriorOutcome:
    found = catalog.versions_for_request(request_id, experiment)
    complete = [v for v in found if (v.tags or {}).get(STATE_TAG) == COMPLETE]
    incomplete = [v for v in found if (v.tags or {}).get(STATE_TAG) != COMPLETE]
    return PriorOutcome(complete[0] if complete else None, incomplete)


def discard(catalog: Catalog, version: str, run_id: str | None, why: str) -> None:
    """Delete a version that never became complete, and say so on its run."""
    log.warning("deleting incomplete version %s of %s: %s", version, catalog.name, why)
    catalog.delete_version(version)
    if run_id:
        catalog.set_run_tag(run_id, STATE_TAG, f"abandoned: {why}"[:_RUN_TAG_LIMIT])


def register(
    settings: Settings, catalog: Catalog, candidate: Candidate, run_name: str
) -> tuple[str, Comparison]:
    """Log the run and the version with everything it carries; return the complete version and
    its comparison, judged by MLflow's promotion gate.

    Only what the version itself must carry goes through ``log_model_version`` (each of its
    metrics and tags costs MLflow round trips); the rest of the lineage and the side-by-side
    metrics reach the run in one batch afterwards.
    """
    registered = log_model_version(
        settings,
        candidate.model,
        profile=candidate.profile,
        trainer=candidate.recipe.trainer,
        params=candidate.recipe.params,
        metrics=candidate.comparison.challenger,
        train_frame=candidate.train.features,
        labels=candidate.train.labels,
        tags={key: candidate.tags[key] for key in VERSION_TAGS if key in candidate.tags},
        run_name=run_name,
        experiment=settings.training_experiment,
        alias=None,  # set last, by publish(), once everything else is in
    )
    try:
        verdict = evaluate_and_gate(
            settings.mlflow_tracking_uri,
            registered.run_id,
            candidate.model,
            candidate.champion,
            candidate.compared,
            champion_columns=candidate.champion_columns,
            min_improvement=settings.auto_promote_min_improvement,
        )
        comparison = candidate.comparison.with_versions(
            registered.version, candidate.tags[PARENT_TAG]
        ).with_gate(verdict.passed, verdict.reason)
        _log_evidence(catalog, registered, candidate, comparison)
        catalog.set_version_tags(
            registered.version, {**comparison_tags(comparison), STATE_TAG: COMPLETE}
        )
    except BaseException as error:
        _discard_quietly(catalog, registered, f"{type(error).__name__}: {error}")
        raise
    return registered.version, comparison


def publish(catalog: Catalog, version: str, request_id: str, reason: str) -> None:
    """Point ``challenger`` at ``version`` and record the move, unless already recorded."""
    history = catalog.history()
    if any(e.action == "register" and e.request_id == request_id for e in history):
        return
    previous = catalog.alias(CHALLENGER)
    catalog.set_alias(CHALLENGER, version)
    catalog.record(
        HistoryEntry.now(
            "register",
            CHALLENGER,
            version,
            previous=previous,
            actor="centinela-retrain",
            reason=reason,
            request_id=request_id,
        )
    )
    if previous and previous != version:
        log.info("challenger moves from version %s to %s", previous, version)


def _log_evidence(
    catalog: Catalog, registered: RegisteredModel, candidate: Candidate, comparison: Comparison
) -> None:
    client, run_id = catalog.client, registered.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[
            Metric(key, float(value), now, 0)
            for key, value in {**candidate.metrics, **comparison.as_metrics()}.items()
        ],
        tags=[RunTag(key, value) for key, value in candidate.tags.items()],
    )
    with tempfile.TemporaryDirectory(prefix="centinela-retrain-") as folder:
        where = Path(folder)
        (where / "comparison.json").write_text(comparison.to_json(), encoding="utf-8")
        plot_comparison(comparison, where / "comparison.png")
        client.log_artifact(run_id, str(where / "comparison.json"), "evaluation")
        client.log_artifact(run_id, str(where / "comparison.png"), "evaluation")
        client.log_artifact(
            run_id, str(write_training_data(candidate.train, where)), "training_data"
        )
    client.log_inputs(
        run_id,
        [
            dataset_input(
                candidate.train, candidate.source, name="labeled-train", context="training"
            ),
            dataset_input(
                candidate.holdout, candidate.source, name="labeled-holdout", context="evaluation"
            ),
        ],
    )


def _discard_quietly(catalog: Catalog, registered: RegisteredModel, why: str) -> None:
    try:
        discard(catalog, registered.version, registered.run_id, why)
    except Exception as error:  # the registry may be what failed; a re-run cleans up instead
        log.warning("could not delete incomplete version %s: %s", registered.version, error)
