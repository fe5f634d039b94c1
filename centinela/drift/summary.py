"""The mergeable summary of one window of one model version (docs/architecture.md, "Drift
methodology").

Per event the summary keeps a 64-bit hash of its ``event_id``, one small cell code per feature
(reference bin or category), the predicted class and the model's probability of it (NaN
without probabilities), from which the window's performance is estimated before its labels come
(:mod:`centinela.drift.estimation`); per labeled event, the prediction, the
label, the probabilities and the label delay; and, for the exact tests, the numeric values of a
bounded subsample: the ``exact_cap`` events with the smallest id hashes. Keeping the events
(not just counts) is what makes deduplication exact everywhere: a redelivered event adds nothing
here, and an event that two workers both counted (a rebalance after a crash) counts once when
their summaries merge. Everything is ordered by hash, so a merged summary is the same, bit for
bit, whatever the order or grouping of the merges, and whatever the arrival order.

Per event the summary also keeps its reconstruction error under the profile's PCA (NaN for a
profile without one), which the multivariate test reads.

Per labeled event that a challenger also scored in the shadow, it keeps the challenger's class
beside the champion's and the label, in a table per challenger version (class indices in the
champion's classes, -1 for a class the champion does not know): the challenger's realised
performance and the champion's on the same events (:mod:`centinela.drift.challenger`). It
merges and deduplicates like the rest; a summary written before it existed reads with none.

Size: about 26 + 2 x features bytes per event plus 8 bytes per numeric value in the subsample;
``to_dict`` packs the arrays as base64 so the JSON stays close to that, or (``binary``, for the
window partials) hands them over as they are. A summary written before the predicted class's
probability was kept reads with NaN there (its events are left out of the estimate); one written
before the reconstruction error was kept reads with NaN there too (no multivariate test).

>>> from datetime import datetime, timezone
>>> import pandas as pd
>>> from centinela.models.profile import build_profile
>>> ref = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
>>> profile = build_profile(ref, [0, 1, 1, 0], classes=[0, 1], n_bins=2)
>>> t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> t1 = datetime(2026, 1, 1, 0, 1, tzinfo=timezone.utc)
>>> a = WindowSummary.empty(profile, model_version="1", window_id=0, window_start=t0,
...                         window_end=t1, exact_cap=100)
>>> a.add_events(["e1", "e2"], pd.DataFrame({"x": [0.5, 2.5]}), [0, 1])
>>> a.add_events(["e2"], pd.DataFrame({"x": [2.5]}), [1])     # redelivered: ignored
>>> b = WindowSummary.from_dict(a.to_dict())
>>> b.add_events(["e3"], pd.DataFrame({"x": [9.0]}), [1])
>>> merged = a.merge(b)
>>> merged.n_events, merged.feature_counts(0).tolist(), merged.prediction_counts().tolist()
(3, [1, 2], [1, 2])
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from centinela.drift.exceptions import DriftError, SummaryMismatchError
from centinela.drift.layout import SummaryLayout, event_hashes
from centinela.drift.summary_tables import Rows, Shape, Table, bottom, pack, union, unpack
from centinela.models.profile import ReferenceProfile

log = logging.getLogger(__name__)

SUMMARY_FORMAT = 1

# A challenger's labeled event: its predicted class, the champion's and the label (indices).
CHALLENGER_SHAPE: list[Shape] = [(np.dtype(np.int16), ())] * 3


class WindowSummary:
    """Mergeable partial summary of one ``(model_version, window_id)``."""

    def __init__(
        self,
        layout: SummaryLayout,
        *,
        model_version: str,
        window_id: int,
        window_start: datetime,
        window_end: datetime,
        exact_cap: int,
    ) -> None:
        if exact_cap < 1:
            raise DriftError("exact_cap must be at least 1")
        self.layout = layout
        self.model_version = model_version
        self.window_id = window_id
        self.window_start = window_start
        self.window_end = window_end
        self.exact_cap = exact_cap
        n_features, n_numeric = len(layout.names), len(layout.numeric)
        self._event_shape: list[Shape] = [
            (np.dtype(np.uint16), (n_features,)),
            (np.dtype(np.int16), ()),
            (np.dtype(np.float64), ()),  # the probability of the predicted class, or NaN
            (np.dtype(np.float64), ()),  # the reconstruction error under the profile's PCA, or NaN
        ]
        self._exact_shape: list[Shape] = [(np.dtype(np.float64), (n_numeric,))]
        self._outcome_shape: list[Shape] = [
            (np.dtype(np.int16), ()),
            (np.dtype(np.int16), ()),
            (np.dtype(np.float64), (len(layout.classes),)),
            (np.dtype(np.float64), ()),
        ]
        self._events = Rows(self._event_shape)
        self._exact = Rows(self._exact_shape, cap=exact_cap)
        self._outcomes = Rows(self._outcome_shape)
        self._challengers: dict[str, Rows] = {}  # by challenger version
        self._seen: set[int] | None = set()
        self._labeled_seen: set[int] | None = set()
        # Arrivals for windows already closed, counted in the window open when they came.
        self.late_events = 0
        self.late_outcomes = 0

    @classmethod
    def empty(
        cls,
        profile: ReferenceProfile,
        *,
        model_version: str,
        window_id: int,
        window_start: datetime,
        window_end: datetime,
        exact_cap: int,
    ) -> WindowSummary:
        return cls(
            SummaryLayout.from_profile(profile),
            model_version=model_version,
            window_id=window_id,
            window_start=window_start,
            window_end=window_end,
            exact_cap=exact_cap,
        )

    # --- adding ------------------------------------------------------------------------------

    def add_events(
        self,
        event_ids: Sequence[str],
        features: pd.DataFrame,
        predicted: Sequence[Any],
        probabilities: np.ndarray | None = None,
    ) -> None:
        """Count scored events; an ``event_id`` already counted is ignored (at-least-once).

        ``probabilities`` has one column per class in the profile's order, or is None; of each
        row only the predicted class's probability is kept.
        """
        if not len(event_ids) == len(features) == len(predicted):
            raise DriftError("event_ids, features and predicted must have the same length")
        predicted_codes = self.layout.class_codes(predicted, what="predicted class")
        confidence = self._confidence(predicted_codes, probabilities)
        hashes = event_hashes(event_ids)
        seen = self._event_ids()
        rows = self._new_rows(hashes, seen)
        if rows.size == 0:
            return
        numeric = self.layout.numeric_values(features, rows)
        codes = self.layout.encode(features, rows, numeric)
        errors = self.layout.reconstruction_errors(numeric)
        ids = hashes[rows]
        seen.update(ids.tolist())  # only once the batch is known to be valid
        self._events.append(Table(ids, (codes, predicted_codes[rows], confidence[rows], errors)))
        self._exact.append(Table(ids, (numeric,)))

    def add_outcomes(
        self,
        event_ids: Sequence[str],
        predicted: Sequence[Any],
        labels: Sequence[Any],
        probabilities: np.ndarray | None,
        label_delays_s: Sequence[float],
        *,
        challenger_versions: Sequence[str | None] | None = None,
        challenger_predicted: Sequence[Any] | None = None,
        coded: bool = False,
    ) -> None:
        """Record labeled outcomes the caller assigns to this window; dedupe by ``event_id``.

        The stream assigns an outcome to the window of its label time (see
        :func:`stream.state.add_outcomes`), not of its event time.

        ``probabilities`` has one column per class in the profile's order, or is None.
        ``challenger_versions`` and ``challenger_predicted``, if given, say per outcome which
        challenger also scored the event in the shadow and its class (None: no challenger).
        ``coded``: ``predicted`` and ``labels`` are already class indices
        (:meth:`SummaryLayout.class_codes`), as a caller that checked them earlier holds them.
        """
        n = len(event_ids)
        if not n == len(predicted) == len(labels) == len(label_delays_s):
            raise DriftError("outcome sequences must have the same length")
        challenger = challenger_versions is not None and challenger_predicted is not None
        if challenger and not n == len(challenger_versions or ()) == len(
            challenger_predicted or ()
        ):
            raise DriftError("challenger versions and classes must have one per outcome")
        if coded:
            predicted_codes = np.asarray(predicted, dtype=np.int16)
            label_codes = np.asarray(labels, dtype=np.int16)
        else:
            predicted_codes = self.layout.class_codes(predicted, what="predicted class")
            label_codes = self.layout.class_codes(labels, what="label")
        n_classes = len(self.layout.classes)
        if probabilities is None:
            proba = np.full((n, n_classes), np.nan)
        else:
            proba = np.asarray(probabilities, dtype=np.float64).reshape(n, n_classes)
        delays = np.asarray(label_delays_s, dtype=np.float64)
        hashes = event_hashes(event_ids)
        seen = self._labeled_ids()
        rows = self._new_rows(hashes, seen)
        if rows.size:
            columns = (predicted_codes[rows], label_codes[rows], proba[rows], delays[rows])
            self._outcomes.append(Table(hashes[rows], columns))
            seen.update(hashes[rows].tolist())
            if challenger_versions is not None and challenger_predicted is not None:
                self._add_challenger(
                    hashes[rows], columns[:2], rows, challenger_versions, challenger_predicted
                )

    def _add_challenger(
        self,
        ids: np.ndarray,
        champion: tuple[np.ndarray, np.ndarray],
        rows: np.ndarray,
        versions: Sequence[str | None],
        predicted: Sequence[Any],
    ) -> None:
        """The new outcomes (``rows`` of the call, with their ``ids`` and the champion's
        (predicted, label) codes) that a challenger scored, in its version's table."""
        chosen = np.asarray(versions, dtype=object)[rows]
        scored = pd.notna(chosen)
        if not scored.any():
            return
        classes = np.asarray(predicted, dtype=object)[rows]
        for version in sorted(set(chosen[scored].tolist())):
            mine = np.flatnonzero(chosen == version)
            codes = self.layout.class_codes(classes[mine].tolist(), what="class", unknown=-1)
            table = self._challengers.get(version)
            if table is None:
                table = self._challengers[version] = Rows(CHALLENGER_SHAPE)
            table.append(Table(ids[mine], (codes, champion[0][mine], champion[1][mine])))

    def _confidence(
        self, predicted_codes: np.ndarray, probabilities: np.ndarray | None
    ) -> np.ndarray:
        n = predicted_codes.size
        if probabilities is None:
            return np.full(n, np.nan)
        proba = np.asarray(probabilities, dtype=np.float64)
        if proba.shape != (n, len(self.layout.classes)):
            raise DriftError(
                f"probabilities of shape {proba.shape} for {n} events and "
                f"{len(self.layout.classes)} classes"
            )
        return proba[np.arange(n), predicted_codes.astype(np.int64)]

    @staticmethod
    def _new_rows(hashes: np.ndarray, seen: set[int]) -> np.ndarray:
        """Rows whose id is neither in ``seen`` nor earlier in the batch (first one wins)."""
        first = np.sort(np.unique(hashes, return_index=True)[1])
        if not seen:
            return first.astype(np.int64)
        known = np.fromiter(map(seen.__contains__, hashes[first].tolist()), dtype=bool)
        return first[~known].astype(np.int64)

    def _event_ids(self) -> set[int]:
        if self._seen is None:  # rebuilt lazily after a merge or from_dict
            self._seen = set(self.events().ids.tolist())
        return self._seen

    def _labeled_ids(self) -> set[int]:
        if self._labeled_seen is None:
            self._labeled_seen = set(self.outcomes().ids.tolist())
        return self._labeled_seen

    # --- reading -----------------------------------------------------------------------------

    def events(self) -> Table:
        """All events, one row per id, ordered by id hash: (codes, predicted class index,
        probability of the predicted class or NaN, reconstruction error or NaN)."""
        return self._events.table()

    def exact(self) -> Table:
        """The exact subsample: (numeric values,) of the ``exact_cap`` smallest id hashes."""
        return self._exact.table()

    def outcomes(self) -> Table:
        """Labeled events: (predicted, label, probabilities, delay seconds), by id hash."""
        return self._outcomes.table()

    @property
    def n_events(self) -> int:
        return len(self.events())

    @property
    def n_labeled(self) -> int:
        return len(self.outcomes())

    def feature_counts(self, position: int) -> np.ndarray:
        """Histogram of feature ``position`` on its cells (bins; categories then unseen)."""
        return self.all_feature_counts()[position]

    def all_feature_counts(self) -> list[np.ndarray]:
        """Every feature's histogram, from one ``bincount`` over all cell codes."""
        codes = self.events().columns[0]
        cells = np.asarray(self.layout.n_cells, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(cells)])
        flat = np.bincount((codes + offsets[:-1]).ravel(), minlength=int(offsets[-1]))
        return [flat[offsets[k] : offsets[k + 1]] for k in range(cells.size)]

    def prediction_counts(self) -> np.ndarray:
        predicted = self.events().columns[1].astype(np.int64)
        return np.bincount(predicted, minlength=len(self.layout.classes))

    def confidence(self) -> tuple[np.ndarray, np.ndarray]:
        """Every event's predicted class index and the model's probability of it (NaN where
        unknown), in id-hash order: what the estimate of performance before labels reads."""
        events = self.events()
        return events.columns[1], events.columns[2]

    def reconstruction_errors(self) -> np.ndarray:
        """The reconstruction errors of the exact subsample's events (the ``exact_cap``
        smallest id hashes), in id-hash order, without the NaN of events summarised without a
        PCA: what the multivariate test reads."""
        errors = self.events().columns[3][: self.exact_cap]
        return errors[np.isfinite(errors)]

    def challenger_outcomes(self) -> dict[str, Table]:
        """Per challenger version, its labeled events: (its predicted class index, -1 for a
        class the champion does not know; the champion's predicted class index; the label's),
        by id hash."""
        return {version: rows.table() for version, rows in sorted(self._challengers.items())}

    def errors(self) -> np.ndarray:
        """0/1 error of each labeled event, in id-hash order (deterministic for detectors)."""
        outcomes = self.outcomes()
        return (outcomes.columns[0] != outcomes.columns[1]).astype(np.int8)

    # --- merging and serialising -------------------------------------------------------------

    def merge(self, *others: WindowSummary) -> WindowSummary:
        """The summary of all parts; exact, associative and commutative (duplicate events are
        the same event, so which copy is kept does not matter). Merging many at once makes
        one union of each table, not one per pair."""
        for other in others:
            self._check_same_window(other)
        parts = [self, *others]
        merged = WindowSummary(
            self.layout,
            model_version=self.model_version,
            window_id=self.window_id,
            window_start=self.window_start,
            window_end=self.window_end,
            exact_cap=min(part.exact_cap for part in parts),
        )
        merged._events.replace(union([p.events() for p in parts], self._event_shape))
        exact = union([p.exact() for p in parts], self._exact_shape)
        merged._exact.replace(bottom(exact, merged.exact_cap))
        merged._outcomes.replace(union([p.outcomes() for p in parts], self._outcome_shape))
        versions = sorted({version for part in parts for version in part._challengers})
        for version in versions:
            tables = [p._challengers[version].table() for p in parts if version in p._challengers]
            merged._challengers[version] = Rows(CHALLENGER_SHAPE)
            merged._challengers[version].replace(union(tables, CHALLENGER_SHAPE))
        # Each partition sends one partial per window (the merger keeps a re-sent one's latest
        # copy), so the partitions' late counts add up.
        merged.late_events = sum(p.late_events for p in parts)
        merged.late_outcomes = sum(p.late_outcomes for p in parts)
        merged._seen = None
        merged._labeled_seen = None
        return merged

    def _check_same_window(self, other: WindowSummary) -> None:
        mine = (self.model_version, self.window_id, self.window_start, self.window_end)
        theirs = (other.model_version, other.window_id, other.window_start, other.window_end)
        if mine != theirs:
            raise SummaryMismatchError(f"cannot merge window {theirs} into window {mine}")
        if self.layout != other.layout:
            raise SummaryMismatchError("cannot merge summaries built on different profiles")

    def to_dict(self, *, binary: bool = False) -> dict[str, Any]:
        """Plain JSON types, the arrays as base64; with ``binary``, the arrays as memoryviews
        of their little-endian bytes instead (for :mod:`stream.blob_json`, no copy)."""
        events, exact, outcomes = self.events(), self.exact(), self.outcomes()
        document = {
            "format": SUMMARY_FORMAT,
            "model_version": self.model_version,
            "window_id": self.window_id,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "exact_cap": self.exact_cap,
            "layout": self.layout.to_dict(),
            "events": pack(events, binary),
            "exact": pack(exact, binary),
            "outcomes": pack(outcomes, binary),
            "late_events": self.late_events,
            "late_outcomes": self.late_outcomes,
        }
        if self._challengers:  # none without a challenger: the partial stays as it was
            document["challengers"] = {
                version: pack(table, binary)
                for version, table in self.challenger_outcomes().items()
            }
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowSummary:
        try:
            if data["format"] != SUMMARY_FORMAT:
                raise DriftError(f"unsupported window summary format {data['format']!r}")
            summary = cls(
                SummaryLayout.from_dict(data["layout"]),
                model_version=str(data["model_version"]),
                window_id=int(data["window_id"]),
                window_start=datetime.fromisoformat(data["window_start"]),
                window_end=datetime.fromisoformat(data["window_end"]),
                exact_cap=int(data["exact_cap"]),
            )
            summary._events.replace(unpack(data["events"], summary._event_shape))
            summary._exact.replace(unpack(data["exact"], summary._exact_shape))
            summary._outcomes.replace(unpack(data["outcomes"], summary._outcome_shape))
            summary.late_events = int(data.get("late_events", 0))
            summary.late_outcomes = int(data.get("late_outcomes", 0))
            for version, packed in data.get("challengers", {}).items():
                rows = summary._challengers[str(version)] = Rows(CHALLENGER_SHAPE)
                rows.replace(unpack(packed, CHALLENGER_SHAPE))
        except DriftError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise DriftError(f"malformed window summary: {error!r}") from error
        summary._seen = None
        summary._labeled_seen = None
        return summary
