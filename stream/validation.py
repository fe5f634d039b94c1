"""Checking incoming events and labels against the champion's reference profile.

Every dead-letter reason and what produces it: docs/architecture.md, "Delivery semantics".

Every message ends up either accepted or rejected with a stable reason code; a rejection is
dead-lettered and counted, never raised, so bad input cannot stop a worker. The common case,
a well-formed event, takes a fast path (the codec's orjson decoders, then the profile's checks);
anything unusual falls back to :func:`centinela.contract.codec.decode`, whose reason codes are
the canonical ones.

>>> from centinela.models.profile import FeatureSpec, ReferenceProfile
>>> profile = ReferenceProfile(
...     features=(FeatureSpec("x", "numeric", (0.0,), (), (1, 1)),
...               FeatureSpec("colour", "categorical", (), ("red",), (2,))),
...     classes=(0, 1), reference_sample={}, prediction_counts={}, baseline_metrics={}, n_rows=2)
>>> check = FeatureValidator(profile)
>>> ok = check.validate(b'{"event_id": "e-1", "event_time": "2026-01-01T00:00:00Z",'
...                     b' "features": {"x": 1.5, "colour": "red"}}')
>>> ok.event_id, ok.event_ts
('e-1', 1767225600.0)
>>> check.validate(b'{"event_id": "e-2", "event_time": "2026-01-01T00:00:00Z",'
...                b' "features": {"x": "1.5", "colour": "red"}}').reason
'wrong_type'
>>> LabelValidator(profile).validate(
...     b'{"event_id": "e-1", "label": 7, "label_time": "2026-01-01T00:00:05Z"}').reason
'unknown_class'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any, cast

import numpy as np

from centinela.contract.codec import (
    DEFAULT_MAX_BYTES,
    decode,
    feature_event_fields,
    feature_event_rows,
    label_event_fields,
    label_event_rows,
    read_times,
)
from centinela.contract.records import FeatureEvent, LabelEvent
from centinela.exceptions import DecodeError
from centinela.models.profile import ReferenceProfile
from stream.time_bounds import TIME_OUT_OF_RANGE, TimeBounds

# Reasons raised here, beside the codec's (malformed_json, invalid_record, naive_timestamp,
# non_finite, oversized, unsupported_schema) and the join's (see stream.join).
MISSING_FEATURE = "missing_feature"
EXTRA_FEATURE = "extra_feature"
WRONG_TYPE = "wrong_type"
UNKNOWN_CLASS = "unknown_class"
OUT_OF_RANGE = "out_of_range"
DEFAULT_MAX_ABS = 1e15  # as CENTINELA_FEATURE_MAX_ABS

_NUMBER_TYPES = frozenset({float, int})  # orjson never yields NaN or infinity
_FLOAT_TYPE = frozenset({float})
_TEXT_TYPE = frozenset({str})


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a message cannot be used; ``reason`` is the dead-letter reason and metrics label."""

    reason: str
    detail: str = ""


@dataclass(slots=True)
class ValidEvent:
    """A feature event that matches the profile. ``raw`` is kept for the join and changelog."""

    event_id: str
    event_ts: float
    event_time: str
    features: dict[str, Any]
    raw: bytes
    numeric: tuple[float, ...] = ()  # the numeric features, in the profile's order
    categorical: tuple[str, ...] = ()  # the categorical features, in the profile's order


@dataclass
class ValidatedBatch:
    """``results`` in input order; ``numeric[rows[i]]`` holds the numeric features of event
    ``i`` when it took the fast path (``rows[i]`` is None otherwise)."""

    results: list[ValidEvent | Rejected]
    numeric: np.ndarray | None
    rows: list[int | None]
    floats_only: bool = False  # every value in ``numeric`` came as a float (no integer)


@dataclass(slots=True)
class ValidLabel:
    """A label whose class is one of the model's; ``label`` is the profile's class value. Not
    frozen, as :class:`stream.join.Scored`: there is one per label, and a frozen dataclass costs
    a microsecond to build; nothing changes one once made."""

    event_id: str
    label: int | str
    label_ts: float
    label_time: str
    raw: bytes
    offset: int | None = None  # in the labels topic, so that a later rejection can name it


class FeatureValidator:
    """Accepts feature events whose features are exactly the profile's, with the right kinds."""

    def __init__(
        self,
        profile: ReferenceProfile,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        bounds: TimeBounds | None = None,
        max_abs: float = DEFAULT_MAX_ABS,
    ) -> None:
        self.max_bytes = max_bytes
        self.bounds = bounds or TimeBounds()
        self.max_abs = max_abs
        self._names = frozenset(profile.feature_names)
        self._numeric = profile.numeric_names
        self._categorical = profile.categorical_names
        self._count = len(self._names)
        self._numeric_of = _getter(self._numeric)
        self._categorical_of = _getter(self._categorical)

    def validate(self, raw: bytes | None) -> ValidEvent | Rejected:
        if raw is not None and len(raw) <= self.max_bytes:
            fast = self._fast(raw)
            if fast is not None and self._kinds_ok(fast):
                lo, hi = self.bounds.limits()
                if lo <= fast.event_ts <= hi:
                    return fast
                return self._out_of_time(fast.event_ts, lo, hi)
        return self._careful(raw)

    def validate_many(self, raws: Sequence[bytes | None]) -> ValidatedBatch:
        """A batch at once: the documents are read in one loop, and the kinds of all numeric
        features are checked by one pass over their types, after which numpy makes the
        batch's numeric matrix; a batch that fails it is checked event by event."""
        results: list[ValidEvent | Rejected] = []
        fast: list[ValidEvent] = []
        rows: list[int | None] = []
        limit, careful, count = self.max_bytes, self._careful, self._count
        numeric_of, categorical_of = self._numeric_of, self._categorical_of
        lo, hi = self.bounds.limits()
        # Nothing to read in a tombstone or an oversized event: b"" sends it to the careful path.
        sized = [b"" if raw is None or len(raw) > limit else raw for raw in raws]
        for raw, document, fields in zip(raws, sized, feature_event_rows(sized), strict=True):
            event = None
            if fields is not None and len(fields[3]) == count:
                event_id, moment, text, features = fields
                try:  # exactly the profile's features: as many, and every one of them present
                    values, categories = numeric_of(features), categorical_of(features)
                except KeyError:
                    pass
                else:  # a document that was read is the raw value itself
                    event = ValidEvent(
                        event_id, moment.timestamp(), text, features, document, values, categories
                    )
            if event is None:
                results.append(careful(raw))
                rows.append(None)
            elif not lo <= event.event_ts <= hi:
                results.append(self._out_of_time(event.event_ts, lo, hi))
                rows.append(None)
            else:
                rows.append(len(fast))
                results.append(event)
                fast.append(event)
        numeric, floats_only = self._batch_numeric(fast) if fast else (None, False)
        if fast and numeric is None:
            results = [
                r if not isinstance(r, ValidEvent) or self._kinds_ok(r) else careful(r.raw)
                for r in results
            ]
            rows = [None] * len(results)
        return ValidatedBatch(results, numeric, rows, floats_only)

    def _batch_numeric(self, events: Sequence[ValidEvent]) -> tuple[np.ndarray | None, bool]:
        """The batch's numeric matrix if every value is a number (None if not), and whether
        every value is a float.

        One set of the types of all values: a bool (which numpy would read as 1.0), a text, a
        None, a list leave it to the event-by-event checks.
        """
        width = len(self._numeric)
        kinds = set(map(type, chain.from_iterable(e.numeric for e in events)))
        if not kinds <= _NUMBER_TYPES:
            return None, False
        try:
            matrix = np.fromiter(
                chain.from_iterable(e.numeric for e in events),
                dtype=np.float64,
                count=len(events) * width,
            ).reshape(len(events), width)
        except OverflowError:  # an integer beyond any float
            return None, False
        if width and len(events) and float(np.abs(matrix).max()) > self.max_abs:
            return None, False  # the careful path says which event, as out_of_range
        if self._categorical and not all(
            set(map(type, e.categorical)) <= _TEXT_TYPE for e in events
        ):
            return None, False
        return matrix, kinds <= _FLOAT_TYPE

    def _kinds_ok(self, event: ValidEvent) -> bool:
        kinds = set(map(type, event.numeric))
        if not kinds <= _NUMBER_TYPES or not set(map(type, event.categorical)) <= _TEXT_TYPE:
            return False  # bools, text in numbers, numbers in categories: the careful path
        return all(abs(v) <= self.max_abs for v in event.numeric)

    def _careful(self, raw: bytes | None) -> ValidEvent | Rejected:
        try:
            event = decode(FeatureEvent, raw, max_bytes=self.max_bytes)
        except DecodeError as error:
            return Rejected(error.reason, error.detail)
        problem = self._check_features(event.features)
        if problem is not None:
            return problem
        lo, hi = self.bounds.limits()
        if not lo <= event.event_time.timestamp() <= hi:
            return self._out_of_time(event.event_time.timestamp(), lo, hi)
        moment = event.event_time
        features = dict(event.features)
        return ValidEvent(
            event.event_id,
            moment.timestamp(),
            moment.isoformat(),
            features,
            raw or b"",
            tuple(float(v) for v in self._numeric_of(features)),
            tuple(self._categorical_of(features)),
        )

    def _out_of_time(self, moment: float, lo: float, hi: float) -> Rejected:
        return Rejected(TIME_OUT_OF_RANGE, self.bounds.problem(moment, lo, hi) or "")

    def _fast(self, raw: bytes) -> ValidEvent | None:
        """The well-formed case without pydantic; None means "take the careful path". The kinds
        of the values are the caller's to check (:meth:`_kinds_ok`)."""
        fields = feature_event_fields(raw)
        if fields is None:
            return None
        event_id, moment, text, features = fields
        # Exactly the profile's features: as many, and every one of them present.
        if len(features) != self._count:
            return None
        try:
            numeric = self._numeric_of(features)
            categorical = self._categorical_of(features)
        except KeyError:
            return None
        return ValidEvent(event_id, moment.timestamp(), text, features, raw, numeric, categorical)

    def _check_features(self, features: dict[str, Any]) -> Rejected | None:
        missing = sorted(self._names - features.keys())
        if missing:
            return Rejected(MISSING_FEATURE, f"missing features: {', '.join(missing[:10])}")
        extra = sorted(features.keys() - self._names)
        if extra:
            return Rejected(EXTRA_FEATURE, f"features not in the profile: {', '.join(extra[:10])}")
        for name in self._numeric:
            value = features[name]
            if isinstance(value, str):
                return Rejected(WRONG_TYPE, f"{name}: numeric feature got text {value[:40]!r}")
            if not abs(value) <= self.max_abs:
                return Rejected(
                    OUT_OF_RANGE,
                    f"{name}: |{value:.6g}| exceeds {self.max_abs:g} (CENTINELA_FEATURE_MAX_ABS)",
                )
        for name in self._categorical:
            value = features[name]
            if not isinstance(value, str):
                return Rejected(WRONG_TYPE, f"{name}: categorical feature got {value!r}")
        return None


class LabelValidator:
    """Accepts labels whose class is one of the profile's classes (matched as text)."""

    def __init__(
        self,
        profile: ReferenceProfile,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        bounds: TimeBounds | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.bounds = bounds or TimeBounds()
        self._classes = {str(c): c for c in profile.classes}
        self._known: dict[int | str, int | str] = {}  # labels seen to match a class

    def validate(self, raw: bytes | None, *, offset: int | None = None) -> ValidLabel | Rejected:
        parsed = label_event_fields(raw) if raw is not None and len(raw) <= self.max_bytes else None
        if parsed is None:
            try:
                event = decode(LabelEvent, raw, max_bytes=self.max_bytes)
            except DecodeError as error:
                return Rejected(error.reason, error.detail)
            parsed = (event.event_id, event.label, event.label_time)
        event_id, label, moment = parsed
        lo, hi = self.bounds.limits()
        moment_ts = moment.timestamp()
        if not lo <= moment_ts <= hi:
            return Rejected(TIME_OUT_OF_RANGE, self.bounds.problem(moment_ts, lo, hi) or "")
        known = self._classes.get(str(label))
        if known is None:
            return Rejected(UNKNOWN_CLASS, f"label {label!r} is not one of {list(self._classes)}")
        return ValidLabel(event_id, known, moment_ts, moment.isoformat(), raw or b"", offset)

    def validate_many(
        self, raws: Sequence[bytes | None], offsets: Sequence[int | None]
    ) -> list[ValidLabel | Rejected]:
        """A batch at once, judged exactly as :meth:`validate` judges each label: the common
        case (a well-formed document, a common time form within bounds, a known class) has its
        times read together (:func:`~centinela.contract.codec.read_times`); anything else is
        validated on its own."""
        results: list[ValidLabel | Rejected | None] = []
        waiting: list[tuple[int, str, int | str]] = []  # (index, event_id, class)
        texts: list[str] = []
        limit, known, validate = self.max_bytes, self._known, self.validate
        # Nothing to read in a tombstone or an oversized label: b"" sends it to validate.
        sized = [b"" if raw is None or len(raw) > limit else raw for raw in raws]
        for raw, offset, fields in zip(raws, offsets, label_event_rows(sized), strict=True):
            if fields is not None:
                event_id, label, text = fields
                value = known.get(label)
                if value is None and (value := self._classes.get(str(label))) is not None:
                    known[label] = value
                if value is not None:
                    waiting.append((len(results), event_id, value))
                    texts.append(text)
                    results.append(None)
                    continue
            results.append(validate(raw, offset=offset))
        moments, isoformats = read_times(texts)
        lo, hi = self.bounds.limits()
        for (at, event_id, value), moment, isoformat in zip(
            waiting, moments, isoformats, strict=True
        ):
            raw, offset = raws[at], offsets[at]
            if moment is not None and isoformat is not None and lo <= moment <= hi:
                results[at] = ValidLabel(event_id, value, moment, isoformat, raw or b"", offset)
            else:
                results[at] = validate(raw, offset=offset)
        return cast(list[ValidLabel | Rejected], results)


def _getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A C-speed tuple of ``names`` from a dict (itemgetter returns a bare value for one)."""
    if len(names) == 1:
        only = names[0]
        return lambda features: (features[only],)
    if not names:
        return lambda features: ()
    return itemgetter(*names)
