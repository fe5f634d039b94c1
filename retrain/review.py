"""The review flow: status, compare, promote, reject, rollback.

Promotion is a person's decision: nothing swaps models silently, and automatic promotion
(:mod:`retrain.promotion`) is off unless configured. Every move writes who, when and why to the
version's tags and to the alias history, then emits a ModelEvent so that the stream hot-swaps.
The registry is changed first and the event follows: if the event cannot be sent, the stream
still finds the new champion when it next polls the alias.

A move of the champion is a compare-and-set (:mod:`retrain.ledger`): it decides on the champion
it read, records its entry under the next number of the alias history only if no other move
took that number first, and only then moves the alias. If another promote, rollback or reject
(another person, or automatic promotion) got in between, it fails with
:class:`~retrain.exceptions.AliasMoveConflictError` and changes nothing. ``expected`` makes a move
also fail unless the champion is the version the caller saw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlflow.entities.model_registry import ModelVersion

from centinela.contract.records import ModelEvent
from centinela.contract.settings import Settings
from centinela.models.registry import CANARY_STOPPED_TAG, CHALLENGER, CHAMPION, TRAINER_TAG
from retrain.catalog import REQUEST_TAG, Catalog
from retrain.evaluation import METRIC_ORDER, Comparison
from retrain.events import ModelEventPublisher
from retrain.exceptions import AliasMoveConflictError, ReviewError
from retrain.history import (
    HistoryEntry,
    previous_champions,
    rollback_target,
    touches_champion,
)
from retrain.ledger import Snapshot
from retrain.registration import COMPARISON_TAG, PARENT_TAG, REVIEW_TAG

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VersionInfo:
    """One version as a reviewer sees it."""

    version: str
    run_id: str
    created_at: str
    trainer: str
    metrics: dict[str, float]
    review: str | None = None
    request_id: str | None = None
    parent_version: str | None = None
    comparison: Comparison | None = None
    canary_stopped: str | None = None  # why its canary stopped, if it did

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "trainer": self.trainer,
            "metrics": self.metrics,
            "review": self.review,
            "request_id": self.request_id,
            "parent_version": self.parent_version,
            "canary_stopped": self.canary_stopped,
        }
        if self.comparison is not None:
            data["comparison"] = {
                "n_holdout": self.comparison.n_holdout,
                "challenger": self.comparison.challenger,
                "champion": self.comparison.champion,
                "deltas": self.comparison.deltas(),
                "mlflow_gate_passed": self.comparison.gate_passed,
                "mlflow_gate_reason": self.comparison.gate_reason,
            }
        return data


@dataclass(frozen=True)
class ModelStatus:
    """Champion, challenger, earlier champions and the recent alias moves of one model."""

    model: str
    champion: VersionInfo | None
    challenger: VersionInfo | None
    previous: list[VersionInfo]
    history: list[HistoryEntry]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "champion": self.champion.to_dict() if self.champion else None,
            "challenger": self.challenger.to_dict() if self.challenger else None,
            "previous_champions": [info.to_dict() for info in self.previous],
            "history": [entry.to_dict() for entry in self.history],
        }


class Review:
    """Review moves on ``settings.model_name``, done as ``actor``."""

    def __init__(
        self, settings: Settings, publisher: ModelEventPublisher | None, *, actor: str
    ) -> None:
        self.catalog = Catalog(settings)
        self.catalog.require_model()
        self.publisher = publisher
        self.actor = actor
        self.name = settings.model_name

    # --- reading -----------------------------------------------------------------------------
    def status(self, *, history_limit: int = 20) -> ModelStatus:
        aliases = self.catalog.aliases()
        snapshot = self.catalog.moves.snapshot()
        champion = aliases.get(CHAMPION)
        return ModelStatus(
            model=self.name,
            champion=self.info(champion) if champion else None,
            challenger=self.info(aliases[CHALLENGER]) if CHALLENGER in aliases else None,
            previous=[
                self.info(v) for v in previous_champions(snapshot.entries, snapshot.champion)
            ],
            history=list(snapshot.entries[-history_limit:]),
        )

    def info(self, version: str) -> VersionInfo:
        found = self.catalog.version(version)
        tags = dict(found.tags or {})
        comparison = tags.get(COMPARISON_TAG)
        return VersionInfo(
            version=str(found.version),
            run_id=found.run_id or "",
            created_at=_when(found),
            trainer=tags.get(TRAINER_TAG, ""),
            metrics=headline_metrics(self.catalog.run_metrics(found.run_id)),
            review=tags.get(REVIEW_TAG),
            request_id=tags.get(REQUEST_TAG),
            parent_version=tags.get(PARENT_TAG),
            comparison=Comparison.from_json(comparison) if comparison else None,
            canary_stopped=tags.get(CANARY_STOPPED_TAG),
        )

    def compare(self, version: str | None = None) -> tuple[VersionInfo | None, VersionInfo]:
        """Champion and challenger (or ``version``); the challenger carries its hold-out
        comparison."""
        challenger = version or self.catalog.alias(CHALLENGER)
        if challenger is None:
            raise ReviewError(f"model {self.name!r} has no challenger to compare")
        champion = self.catalog.alias(CHAMPION)
        return (self.info(champion) if champion else None), self.info(challenger)

    # --- moves -------------------------------------------------------------------------------
    def promote(
        self,
        version: str | None,
        reason: str,
        *,
        force: bool = False,
        expected: str | None = None,
    ) -> ModelEvent:
        """Make ``version`` (default: the challenger) the champion.

        Raises :class:`AliasMoveConflictError` when another move of the champion (or a
        rejection of ``version``) came first, or when ``expected`` is given and the champion is
        not that version.
        """
        target = version or self.catalog.alias(CHALLENGER)
        if target is None:
            raise ReviewError(f"model {self.name!r} has no challenger; name a VERSION to promote")
        tags = dict(self.catalog.version(target).tags or {})
        if tags.get(REVIEW_TAG) == "rejected" and not force:
            raise ReviewError(
                f"version {target} was rejected by {tags.get('centinela.rejected_by', '?')} "
                f"({tags.get('centinela.rejected_reason', '')}); use --force to promote it anyway"
            )

        def decide(snapshot: Snapshot) -> HistoryEntry:
            return promotion(
                snapshot,
                self.name,
                target,
                actor=self.actor,
                reason=reason,
                expected=expected,
                force=force,
            )

        entry = self.catalog.moves.move(decide, conflicts=promotion_conflicts(target))
        current = entry.previous
        self.catalog.set_version_tags(target, self._stamp("promoted", reason))
        if current:
            self.catalog.set_version_tags(current, {REVIEW_TAG: "retired"})
        self._settle(entry)
        if self.catalog.alias(CHALLENGER) == target:
            self.catalog.delete_alias(CHALLENGER)
        metrics = _comparison_metrics(tags)
        return self._emit("promoted", target, current, reason, metrics)

    def reject(self, version: str, reason: str) -> ModelEvent:
        self.catalog.version(version)  # a clear error for an unknown version

        def decide(snapshot: Snapshot) -> HistoryEntry:
            return rejection(snapshot, self.name, version, actor=self.actor, reason=reason)

        self.catalog.moves.move(decide, conflicts=touches_champion)
        self.catalog.set_version_tags(version, self._stamp("rejected", reason))
        if self.catalog.alias(CHALLENGER) == version:
            self.catalog.delete_alias(CHALLENGER)
        return self._emit("rejected", version, None, reason, {})

    def stop_canary(self, version: str, reason: str) -> ModelEvent | None:
        """Stop the canary of ``version`` for good (a tag every stream worker reads) and say so
        on model-events; None when it was already stopped."""
        if self.catalog.version(version).tags.get(CANARY_STOPPED_TAG):
            return None
        self.catalog.set_version_tags(version, {CANARY_STOPPED_TAG: reason})
        log.warning("the canary of v%s stops: %s", version, reason)
        return self._emit("canary_stopped", version, None, reason, {})

    def rollback(self, reason: str, *, expected: str | None = None) -> ModelEvent:
        """Restore the champion before the current one, by the complete alias history."""

        def decide(snapshot: Snapshot) -> HistoryEntry:
            return restoration(
                snapshot, self.name, actor=self.actor, reason=reason, expected=expected
            )

        entry = self.catalog.moves.move(decide, conflicts=touches_champion)
        target, current = str(entry.version), str(entry.previous)
        self.catalog.set_version_tags(current, self._stamp("rolled_back", reason))
        self.catalog.set_version_tags(
            target, {**self._stamp("restored", reason), REVIEW_TAG: "promoted"}
        )
        self._settle(entry)
        return self._emit("rolled_back", target, current, reason, {})

    # --- helpers -----------------------------------------------------------------------------
    def _stamp(self, action: str, reason: str) -> dict[str, str]:
        stamp = {
            f"centinela.{action}_by": self.actor,
            f"centinela.{action}_at": datetime.now(UTC).isoformat(timespec="seconds"),
            f"centinela.{action}_reason": reason,
        }
        if action in ("promoted", "rejected", "rolled_back"):
            stamp[REVIEW_TAG] = action
        return stamp

    def _settle(self, entry: HistoryEntry) -> None:
        """Move ``@champion`` to the latest recorded champion (ours, unless a later move won)."""
        latest = self.catalog.moves.settle()
        if latest is not None and latest.seq != entry.seq and latest.version:
            log.info(
                "move %s (v%s) was followed by move %s: the champion is v%s",
                entry.seq,
                entry.version,
                latest.seq,
                latest.version,
            )
            self.catalog.set_version_tags(latest.version, {REVIEW_TAG: "promoted"})

    def _emit(
        self,
        kind: Any,
        version: str,
        previous: str | None,
        reason: str,
        metrics: dict[str, float],
    ) -> ModelEvent:
        event = ModelEvent(
            event_type=kind,
            model_name=self.name,
            version=version,
            previous_version=previous,
            actor=self.actor,
            reason=reason,
            metrics=metrics,
        )
        if self.publisher is not None:
            self.publisher.publish(event)
        return event


# --- the decisions: what a move records, given what it read ---------------------------------
def promotion(
    snapshot: Snapshot,
    model: str,
    target: str,
    *,
    actor: str,
    reason: str,
    expected: str | None = None,
    force: bool = False,
) -> HistoryEntry:
    """The entry that makes ``target`` the champion, or why not (a :class:`ReviewError`)."""
    current = _expect(snapshot, expected, "promotion")
    rejected = _rejection(snapshot.entries, target)
    if rejected is not None and not force:  # recorded, its tags perhaps not written yet
        raise ReviewError(
            f"version {target} was rejected by {rejected.actor} ({rejected.reason}); "
            "use --force to promote it anyway"
        )
    if current == target:
        raise ReviewError(f"version {target} is already the champion of {model!r}")
    return HistoryEntry.now(
        "promote", CHAMPION, target, previous=current, actor=actor, reason=reason
    )


def promotion_conflicts(target: str) -> Callable[[HistoryEntry], bool]:
    """A promotion depends on every later champion move and on any rejection of its target."""

    def conflicts(entry: HistoryEntry) -> bool:
        return touches_champion(entry) or (entry.action == "reject" and entry.version == target)

    return conflicts


def restoration(
    snapshot: Snapshot, model: str, *, actor: str, reason: str, expected: str | None = None
) -> HistoryEntry:
    """The entry that restores the champion before the current one, by the whole history."""
    current = _expect(snapshot, expected, "rollback")
    target = rollback_target(snapshot.entries, current)
    if current is None or target is None:
        raise ReviewError(
            f"model {model!r} has no earlier champion in its alias history to roll back to"
        )
    return HistoryEntry.now(
        "rollback", CHAMPION, target, previous=current, actor=actor, reason=reason
    )


def rejection(
    snapshot: Snapshot, model: str, version: str, *, actor: str, reason: str
) -> HistoryEntry:
    """The entry that turns ``version`` down; never the champion's."""
    if version in (snapshot.champion, snapshot.alias):
        raise ReviewError(f"version {version} is the champion of {model!r}; use `rollback` instead")
    return HistoryEntry.now("reject", CHALLENGER, version, actor=actor, reason=reason)


def _expect(snapshot: Snapshot, expected: str | None, action: str) -> str | None:
    if expected is not None and snapshot.champion != expected:
        raise AliasMoveConflictError.unexpected(action, expected, snapshot.champion)
    return snapshot.champion


def _rejection(entries: Sequence[HistoryEntry], version: str) -> HistoryEntry | None:
    """The rejection of ``version`` in the history, unless it was champion again since.

    >>> reject = HistoryEntry.now("reject", "challenger", "3", actor="ana", reason="overfits")
    >>> _rejection([reject], "3") == reject, _rejection([reject], "4")
    (True, None)
    >>> _rejection([reject, HistoryEntry.now("promote", "champion", "3", previous="1")], "3")
    """
    for entry in reversed(entries):
        if entry.version != version:
            continue
        if entry.action == "reject":
            return entry
        if entry.moves_champion:
            return None
    return None


def headline_metrics(run_metrics: dict[str, float]) -> dict[str, float]:
    """The model's own quality figures from its run: hold-out metrics when it is a challenger,
    else whatever validation metrics its run logged under the usual names.

    >>> headline_metrics({"challenger_f1": 0.8, "champion_f1": 0.7, "accuracy": 0.9})
    {'f1': 0.8}
    >>> headline_metrics({"val_accuracy": 0.9, "f1": 0.5})
    {'accuracy': 0.9, 'f1': 0.5}
    """
    if any(key.startswith("challenger_") for key in run_metrics):
        prefixes: tuple[str, ...] = ("challenger_",)
    else:
        prefixes = ("", "val_", "validation_", "holdout_")
    found: dict[str, float] = {}
    for name in METRIC_ORDER:
        for prefix in prefixes:
            if prefix + name in run_metrics:
                found[name] = run_metrics[prefix + name]
                break
    return found


def _comparison_metrics(tags: dict[str, str]) -> dict[str, float]:
    text = tags.get(COMPARISON_TAG)
    if not text:
        return {}
    comparison = Comparison.from_json(text)
    return {
        **{f"delta_{name}": value for name, value in comparison.deltas().items()},
        "holdout_rows": float(comparison.n_holdout),
    }


def _when(version: ModelVersion) -> str:
    stamp = version.creation_timestamp or 0
    return datetime.fromtimestamp(stamp / 1000, UTC).isoformat(timespec="seconds")
