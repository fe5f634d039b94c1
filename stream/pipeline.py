"""One micro-batch through the stream, as a pure step: messages + state -> outputs.

Kafka, the model store and MLflow stay outside: the caller hands in the fetched messages and the
current champion, and gets back what to publish (predictions, labeled examples, dead letters,
closed window partials), the changelog groups to write after that, and the offsets to commit
last. The same step runs in the worker and in unit tests.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from centinela.contract.codec import dead_letter
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.models.profile import ReferenceProfile
from stream.batch_output import BatchOutput, ClosedWindows, Message
from stream.champion import Champion
from stream.changelog import ChangelogGroup, EventEntry, chunk_count, new_group_id
from stream.join import DUPLICATE_EVENT, Joined, Scored
from stream.labeled import labeled_rows
from stream.packed import Layout, kept_records
from stream.quarantine import INTERNAL_ERROR, drop_unscorable, quarantined
from stream.scoring import FeatureArrays, event_arrays, score, with_numeric
from stream.shadow import ShadowScorer, challenger_columns
from stream.state import (
    Applied,
    PartitionState,
    apply_events,
    apply_labels,
    finish_batch,
    label_entries,
    remember_group,
    restore,
)
from stream.validation import Rejected, ValidEvent, ValidLabel
from stream.window_buffer import BufferedSummary

log = logging.getLogger(__name__)

MIN_MEMORY_ENTRIES = 1_000  # a partition's least share of the join's memory


class Pipeline:
    """Holds the partitions' state and turns batches into :class:`BatchOutput`."""

    def __init__(
        self,
        settings: Settings,
        topics: Topics,
        profile_of: Callable[[str], ReferenceProfile],
        make_summary: Callable[[ReferenceProfile, str, int, float, float], Any],
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.profile_of = profile_of
        self._make_summary = make_summary
        self.states: dict[int, PartitionState] = {}
        self._layouts: dict[str, Layout] = {}
        self.n_partitions = settings.topic_partitions
        self.shadow = ShadowScorer()

    # --- partitions ----------------------------------------------------------------------------
    def fresh_state(self, partition: int) -> PartitionState:
        """An empty state for ``partition``, not processed until :meth:`adopt`."""
        share = self._memory_share(len(set(self.states) | {partition}))
        return PartitionState.fresh(
            partition, self.settings, self._summary_factory, memory_entries=share
        )

    def adopt(self, state: PartitionState) -> None:
        """Process ``state``'s partition from now on (idle is measured from now, not from
        when its restore began)."""
        state.last_feature_at = time.monotonic()
        self.states[state.partition] = state
        self._share_memory()

    def _memory_share(self, partitions: int) -> int:
        """Each partition's part of the worker's ``join_memory_entries``."""
        whole = self.settings.join_memory_entries
        return max(min(MIN_MEMORY_ENTRIES, whole), whole // max(partitions, 1))

    def _share_memory(self) -> None:
        """The worker's join entries in memory, split evenly among the partitions it owns
        (re-split when one comes or goes; a partition over its new share spills at its next
        batch)."""
        share = self._memory_share(len(self.states))
        for state in self.states.values():
            state.join.memory_entries = share

    def assign(self, partition: int) -> PartitionState:
        state = self.fresh_state(partition)
        self.adopt(state)
        return state

    def revoke(self, partition: int) -> None:
        state = self.states.pop(partition, None)
        if state is not None:
            state.join.close()
        self._share_memory()

    def close(self) -> None:
        """Drop every partition (the worker stops)."""
        for partition in list(self.states):
            self.revoke(partition)

    def restore(self, partition: int, groups: Sequence[ChangelogGroup]) -> PartitionState:
        state = self.assign(partition)
        for group in groups:
            restore(state, group, self.profile_of)
        return state

    def _layout(self, event: Scored) -> Layout:
        """The packed layout of the profile that scored ``event`` (one per version, kept)."""
        layout = self._layouts.get(event.version)
        if layout is None:
            layout = self._layouts[event.version] = Layout.of(self.profile_of(event.version))
        return layout

    def _summary_factory(self, version: str, window_id: int, start: float, end: float) -> Any:
        profile = self.profile_of(version)
        summary = self._make_summary(profile, version, window_id, start, end)
        return BufferedSummary(summary, profile)

    # --- batches -------------------------------------------------------------------------------
    def process(
        self,
        champion: Champion,
        features: Mapping[int, Sequence[Message]],
        labels: Mapping[int, Sequence[Message]],
        *,
        labels_caught_up: Callable[[int], bool],
        received_at: float,
        challenger: Champion | None = None,
        canary_share: float = 0.0,
    ) -> BatchOutput:
        """``challenger``, if given, also scores the batch in the shadow (:mod:`stream.shadow`)
        and serves ``canary_share`` of its events (:mod:`stream.canary`)."""
        out = BatchOutput()
        now = time.monotonic()
        accepted, matrices, floats_only = self._validate_events(champion, features, out)
        valid_labels = self._validate_labels(champion, labels, out)
        touched = sorted(set(features) | set(labels))
        # Rows of the arrays follow the partitions in this same order (see the loop below).
        everything = [event for p in touched for event in accepted.get(p, [])]
        arrays = self._arrays(champion, touched, accepted, matrices, everything)
        try:
            scored = score(champion.model, arrays, champion.profile)
        except Exception:
            log.exception("the model raised on a batch; scoring its events one by one")
            detail = "the model raised on this event alone (the worker log has why)"
            for message in drop_unscorable(champion, arrays, accepted, matrices, features):
                failure = Rejected(INTERNAL_ERROR, detail)
                self._dead_letter(self.topics.features, message, failure, out)
            everything = [event for p in touched for event in accepted.get(p, [])]
            arrays = self._arrays(champion, touched, accepted, matrices, everything)
            scored = score(champion.model, arrays, champion.profile)
        latency_ms = (time.monotonic() - received_at) * 1000.0
        scored_at = datetime.now(UTC).isoformat()
        values = champion.encoder.encode(
            everything, scored, scored_at=scored_at, latency_ms=latency_ms
        )
        shadow = None
        if challenger is not None:
            shadow = self.shadow.encode(
                challenger,
                champion,
                arrays,
                everything,
                received_at=received_at,
                scored_at=scored_at,
                canary_share=canary_share,
            )
            if shadow is not None:
                values = shadow.served(values)
        probabilities = scored.probability_rows()
        row = 0
        version = champion.version
        for partition in touched:
            state = self.states[partition]
            events = accepted.get(partition, [])
            rows = slice(row, row + len(events))
            row += len(events)
            shadow_version, shadow_classes = challenger_columns(shadow, rows, len(events))
            entries = [
                EventEntry(e.event_id, e.event_ts, version, p, proba, record, shadow_version, c)
                for e, p, proba, record, c in zip(
                    events,
                    scored.predicted[rows],
                    probabilities[rows],
                    kept_records(events, matrices.get(partition), floats_only=floats_only),
                    shadow_classes,
                    strict=True,
                )
            ]
            if events:
                out.predictions[partition] = [
                    (e.event_id.encode(), value)
                    for e, value in zip(events, values[rows], strict=True)
                ]
                if shadow is not None:
                    out.shadow_predictions[partition] = [
                        (e.event_id.encode(), value)
                        for e, value in zip(events, shadow.shadow[rows], strict=True)
                        if value is not None  # served by the canary, on predictions
                    ]
                state.last_feature_at = now
            applied = apply_events(state, entries, arrays.take(rows), checked=True)
            self._publish_applied(champion, state, applied, out)
            label_applied, verdicts = apply_labels(state, valid_labels.get(partition, []))
            self._publish_applied(champion, state, label_applied, out)
            for label, rejected in verdicts:
                if rejected is not None:
                    self._reject_label(partition, label, rejected, out)
            self._finish(state, out, labels_caught_up(partition))
            self._advance(partition, features.get(partition, ()), labels.get(partition, ()), out)
            accepted_labels = [label for label, r in verdicts if r is None]
            joined = applied.joined + label_applied.joined
            self._log(state, entries, accepted_labels, out, joined)
        out.stats.scored = len(everything)
        if shadow is not None:
            out.stats.shadow_scored = shadow.shadow_count
            out.stats.canary_served = len(shadow.canary)
        return out

    def quarantine(
        self,
        features: Mapping[int, Sequence[Message]],
        labels: Mapping[int, Sequence[Message]],
        error: BaseException,
    ) -> BatchOutput:
        """The batch's records as ``internal_error`` dead letters, its offsets moved past them."""
        out = quarantined((self.topics.features, self.topics.labels), features, labels, error)
        for partition in sorted(set(features) | set(labels)):
            state = self.states.get(partition)
            if state is not None:
                self._advance(
                    partition, features.get(partition, ()), labels.get(partition, ()), out
                )
                self._log(state, [], [], out)
        return out

    @staticmethod
    def _arrays(
        champion: Champion,
        touched: list[int],
        accepted: dict[int, list[ValidEvent]],
        matrices: dict[int, np.ndarray],
        everything: list[ValidEvent],
    ) -> FeatureArrays:
        parts = [p for p in touched if accepted.get(p)]
        if not all(p in matrices for p in parts):
            return event_arrays(everything, champion.profile)
        width = len(champion.profile.numeric_names)
        numeric = np.concatenate([matrices[p] for p in parts]) if parts else np.empty((0, width))
        return with_numeric(everything, numeric, champion.profile)

    def tick(
        self, *, idle: Callable[[int], bool], labels_caught_up: Callable[[int], bool]
    ) -> BatchOutput:
        """Between batches: close windows that are due, and all windows of idle partitions.

        An idle partition closes only what its own events and labels reached. It never adopts
        another partition's progress: its data may simply not have arrived yet, and would then
        be late. A partition that never sees an event is waited for by the merger's grace.
        """
        out = BatchOutput()
        for partition in sorted(self.states):
            state = self.states[partition]
            before = (state.windows.closed_through, state.expired_through)
            if idle(partition):
                target = state.windows.newest_window()
                if target is not None:
                    self._close(state, target, out)
            self._finish(state, out, labels_caught_up(partition))
            if (state.windows.closed_through, state.expired_through) != before:
                self._log(state, [], [], out)
        return out

    # --- steps ---------------------------------------------------------------------------------
    def _validate_events(
        self, champion: Champion, features: Mapping[int, Sequence[Message]], out: BatchOutput
    ) -> tuple[dict[int, list[ValidEvent]], dict[int, np.ndarray], bool]:
        """Accepted events per partition, their numeric features as matrices, and whether
        those features all came as floats. All partitions are validated in one call: its cost
        per call is most of a small batch's."""
        accepted: dict[int, list[ValidEvent]] = {}
        matrices: dict[int, np.ndarray] = {}
        topic = self.topics.features
        batch = champion.features.validate_many([m.value for ms in features.values() for m in ms])
        start = 0
        for partition, messages in features.items():
            end = start + len(messages)
            results, rows = batch.results[start:end], batch.rows[start:end]
            start = end
            knows = self.states[partition].join.knows
            seen: set[str] = set()
            good = accepted[partition] = []
            kept: list[int | None] = []
            for message, result, row in zip(messages, results, rows, strict=True):
                if isinstance(result, Rejected):
                    self._dead_letter(topic, message, result, out)
                elif result.event_id in seen or knows(result.event_id):
                    detail = f"event_id {result.event_id!r} was already scored"
                    self._dead_letter(topic, message, Rejected(DUPLICATE_EVENT, detail), out)
                else:
                    seen.add(result.event_id)
                    good.append(result)
                    kept.append(row)
            if batch.numeric is not None and None not in kept:
                matrices[partition] = batch.numeric[np.asarray(kept, dtype=np.int64)]
            out.stats.events += len(messages)
        return accepted, matrices, batch.floats_only

    def _validate_labels(
        self, champion: Champion, labels: Mapping[int, Sequence[Message]], out: BatchOutput
    ) -> dict[int, list[ValidLabel]]:
        """Accepted labels per partition, all partitions validated in one call."""
        messages = [m for ms in labels.values() for m in ms]
        values, offsets = [m.value for m in messages], [m.offset for m in messages]
        results = champion.labels.validate_many(values, offsets)
        good: dict[int, list[ValidLabel]] = {partition: [] for partition in labels}
        for message, result in zip(messages, results, strict=True):
            if isinstance(result, Rejected):
                self._dead_letter(self.topics.labels, message, result, out)
            else:
                good[message.partition].append(result)
        out.stats.labels += len(messages)
        return good

    def _publish_applied(
        self, champion: Champion, state: PartitionState, applied: Applied, out: BatchOutput
    ) -> None:
        if applied.joined:
            rows = out.labeled.setdefault(state.partition, [])
            rows += labeled_rows(
                applied.joined, self._layout, champion.model.name, champion.class_keys
            )
        for rejection in applied.label_rejections:
            self._reject_label(state.partition, rejection.label, rejection.rejected, out)
        out.stats.joined += len(applied.joined)
        out.stats.late_events += applied.late_events
        out.stats.late_outcomes += applied.late_outcomes
        if applied.late_outcomes or applied.late_events:
            log.info(
                "partition %d: %d late events, %d late outcomes (closed through %s)",
                state.partition,
                applied.late_events,
                applied.late_outcomes,
                state.windows.closed_through,
            )

    def _finish(self, state: PartitionState, out: BatchOutput, labels_caught_up: bool) -> None:
        watermark = state.windows.watermark(labels_caught_up=labels_caught_up)
        for rejection in finish_batch(state, watermark):
            self._reject_label(state.partition, rejection.label, rejection.rejected, out)
        due = state.windows.due(labels_caught_up=labels_caught_up)
        if due is not None:
            log.debug(
                "partition %d closes through %d (labels caught up: %s, %s)",
                state.partition,
                due,
                labels_caught_up,
                state.windows.describe(),
            )
            self._close(state, due, out)

    def _close(self, state: PartitionState, window_id: int, out: BatchOutput) -> None:
        """Close through ``window_id`` and tell the merger (only when coverage moves)."""
        before = state.windows.closed_through
        closed = state.windows.close_through(window_id)
        if state.windows.closed_through == before:
            return
        out.closes.append(
            ClosedWindows(
                self.settings.model_name, state.partition, self.n_partitions, window_id, closed
            )
        )
        out.stats.windows_closed += len(closed)

    def _log(
        self,
        state: PartitionState,
        entries: list[EventEntry],
        labels: list[ValidLabel],
        out: BatchOutput,
        joined: Sequence[Joined] = (),
    ) -> None:
        """The changelog group of this batch for one partition (state after the batch), with
        tombstones for the groups it makes dead."""
        windows = state.windows
        group_id = new_group_id()
        group = ChangelogGroup(
            partition=state.partition,
            next_feature_offset=state.next_feature_offset,
            next_label_offset=state.next_label_offset,
            events=entries,
            labels=label_entries(labels),
            closed_through=windows.closed_through,
            feature_watermark=windows.feature_watermark,
            label_watermark=windows.label_watermark,
            expired_through=state.expired_through,
            group_id=group_id,
        )
        chunks = chunk_count(group)
        remember_group(state, group_id, chunks, entries, labels, joined)
        retired, state.to_retire = tuple(state.to_retire), []
        out.changelog[state.partition] = dataclasses.replace(group, chunks=chunks, retired=retired)

    def _advance(
        self,
        partition: int,
        features: Sequence[Message],
        labels: Sequence[Message],
        out: BatchOutput,
    ) -> None:
        state = self.states[partition]
        if features:
            state.next_feature_offset = features[-1].offset + 1
            out.commits[(self.topics.features, partition)] = state.next_feature_offset
        if labels:
            state.next_label_offset = labels[-1].offset + 1
            out.commits[(self.topics.labels, partition)] = state.next_label_offset

    def _reject_label(
        self, partition: int, label: ValidLabel, rejected: Rejected, out: BatchOutput
    ) -> None:
        out.dead_letters.append(
            dead_letter(
                self.topics.labels,
                label.raw,
                rejected.reason,
                rejected.detail,
                key=label.event_id.encode(),
                partition=partition,
                offset=label.offset,
                keep_bytes=self.settings.max_message_bytes,
            )
        )
        out.stats.dead_letters[rejected.reason] += 1

    def _dead_letter(
        self, topic: str, message: Message, rejected: Rejected, out: BatchOutput
    ) -> None:
        out.dead_letters.append(
            dead_letter(
                topic,
                message.value,
                rejected.reason,
                rejected.detail,
                key=message.key,
                partition=message.partition,
                offset=message.offset,
                keep_bytes=self.settings.max_message_bytes,
            )
        )
        out.stats.dead_letters[rejected.reason] += 1
