"""The records that cross Kafka: immutable, versioned, timezone-aware.

Which topic carries which record, and its key: docs/architecture.md, "Topics and keys".

Every record carries ``schema_version`` and every timestamp is an aware UTC datetime; a naive
timestamp is refused. Feature values are finite numbers or category strings.

>>> from datetime import datetime, timezone
>>> event = FeatureEvent(event_id="e-1", event_time=datetime(2026, 1, 1, tzinfo=timezone.utc),
...                      features={"x": 1.5, "colour": "red"})
>>> event.features["x"]
1.5
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

SCHEMA_VERSION = 1
EVENT_ID_MAX_LENGTH = 256  # an event id is 1 to this many characters


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_as_utc)]
FeatureValue = float | int | str
ClassLabel = int | str
# What producers send is read strictly: a time is an ISO 8601 text (not a number), a feature is
# a number or a text (never `true`), a label an integer or a text. Loose coercions would let a
# wrong producer pass unannounced.
InputTime = Annotated[AwareDatetime, Strict(), AfterValidator(_as_utc)]
InputFeatureValue = StrictFloat | StrictInt | StrictStr
InputLabel = StrictInt | StrictStr


def utc_now() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    """Base of every Kafka record: frozen, strict about unknown fields, finite numbers only."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    schema_version: Literal[1] = 1  # bump with SCHEMA_VERSION when the contract changes

    @field_validator("schema_version", mode="before")
    @classmethod
    def _an_integer_version(cls, value: Any) -> Any:
        if type(value) is not int:  # a Literal alone takes 1.0 and True for 1
            raise ValueError(f"schema_version must be the integer {SCHEMA_VERSION}")
        return value


class FeatureEvent(Record):
    """One model input, keyed by ``event_id`` on the ``features`` topic."""

    event_id: str = Field(min_length=1, max_length=EVENT_ID_MAX_LENGTH)
    event_time: InputTime
    features: dict[str, InputFeatureValue]


class LabelEvent(Record):
    """The ground truth of an earlier FeatureEvent, keyed by the same ``event_id``."""

    event_id: str = Field(min_length=1, max_length=EVENT_ID_MAX_LENGTH)
    label: InputLabel
    label_time: InputTime


PredictionRole = Literal["champion", "shadow", "canary"]


class Prediction(Record):
    """What a model version said about one event: the version that served it on
    ``predictions`` (the champion, or the challenger for the canary's share of events), a
    challenger scoring in the shadow on ``shadow-predictions`` (``role``; records written
    before roles existed read as the champion's)."""

    event_id: str
    event_time: UtcDatetime
    model_name: str
    model_version: str
    role: PredictionRole = "champion"
    predicted_class: ClassLabel
    probabilities: dict[str, float] | None = None
    scored_at: UtcDatetime
    latency_ms: float = Field(ge=0)


class LabeledExample(Record):
    """An event joined with its prediction and its label: the retrain worker's training row."""

    event_id: str
    event_time: UtcDatetime
    features: dict[str, FeatureValue]
    model_name: str
    model_version: str
    predicted_class: ClassLabel
    probabilities: dict[str, float] | None = None
    label: ClassLabel
    label_time: UtcDatetime


class FeatureDrift(BaseModel):
    """The tests of one feature (or of the prediction) in one window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature: str
    kind: Literal["numeric", "categorical", "prediction", "multivariate"]
    test: str
    statistic: float
    p_value: float | None = None
    psi: float | None = None
    distance: float | None = None
    unseen_categories: int = 0
    drifted: bool


class DriftReport(Record):
    """One closed window of one model version, keyed by model name on ``drift``."""

    model_name: str
    model_version: str
    window_id: int
    window_start: UtcDatetime
    window_end: UtcDatetime
    n_events: int = Field(ge=0)
    n_labeled: int = Field(ge=0)
    features: tuple[FeatureDrift, ...] = ()
    prediction: FeatureDrift | None = None
    performance: dict[str, float] = Field(default_factory=dict)
    label_coverage: float | None = None
    label_delay_seconds: float | None = None
    drifted_features: tuple[str, ...] = ()
    data_drift: bool = False
    concept_drift: bool = False
    correction: str = "bonferroni"
    alpha: float = 0.01
    created_at: UtcDatetime = Field(default_factory=utc_now)
    # Verdicts the window had too little evidence for (docs/architecture.md, "Drift
    # methodology"): "data" (fewer events than CENTINELA_DRIFT_MIN_EVENTS: no data- or
    # prediction-drift test ran) and "performance" (fewer labeled outcomes than
    # CENTINELA_CONCEPT_MIN_LABELS: no performance-drop test ran). A withheld verdict is not
    # drift: no flag, alert or retrain request comes from it.
    verdicts_withheld: tuple[Literal["data", "performance"], ...] = ()
    # Performance estimated before labels (docs/architecture.md, "Performance before labels"),
    # from the model's calibrated probabilities of the window's events, labeled or not:
    # "accuracy", and for a binary model "precision", "recall", "f1", "roc_auc", "log_loss";
    # "calibrated" is 1 when the profile's calibration was applied, 0 when the raw probabilities
    # were (a profile without one). Empty without probabilities, and in older reports.
    estimated_performance: dict[str, float] = Field(default_factory=dict)
    # The estimated accuracy fell more than CENTINELA_ESTIMATED_DROP_TOLERANCE below the
    # baseline (not judged on a window whose data verdict is withheld): an alert, no request.
    estimated_drop: bool = False
    # The estimator's error where the truth is known: the same estimate made for the window's
    # labeled outcomes, minus their realised metrics (``performance``), per metric both have.
    estimation_error: dict[str, float] = Field(default_factory=dict)
    # The multivariate test (docs/architecture.md, "Drift methodology"): KS of the window's PCA
    # reconstruction errors against the reference's, in the window's corrected family. None
    # when the verdict is withheld, the profile has no PCA, or in older reports. Its flag is
    # not ``data_drift`` (that is per feature); it raises a "multivariate_drift" alert.
    multivariate: FeatureDrift | None = None
    # Arrivals while this window was its partitions' newest that belonged to a window already
    # closed (and reported): events scored but in no window's statistics, and labels joined but
    # in no window's performance. Counted here so that lateness is never silent; 0 in older
    # reports.
    late_events: int = Field(default=0, ge=0)
    late_outcomes: int = Field(default=0, ge=0)
    # The challenger scoring in the shadow (docs/architecture.md, "Shadow scoring"): its
    # version, how many of the window's labeled outcomes it scored too, its realised
    # "accuracy" and "f1" on them, and the champion's on the same events (the paired numbers,
    # comparable with the challenger's). None, 0 and empty without one, and in older reports.
    challenger_version: str | None = None
    challenger_labeled: int = Field(default=0, ge=0)
    challenger_performance: dict[str, float] = Field(default_factory=dict)
    challenger_paired_champion: dict[str, float] = Field(default_factory=dict)
    # The same events as paired 0/1 losses: how many only the challenger got right
    # ("challenger_only_right"), only the champion ("champion_only_right"), or both or neither
    # ("both_same"); and the always-valid comparison of the two models over every window since
    # the challenger was first compared with this champion (centinela.models.live_comparison:
    # its counts, the accuracy difference, the confidence sequence and the verdict). Empty
    # without a challenger, and in older reports.
    challenger_paired_counts: dict[str, int] = Field(default_factory=dict)
    challenger_live: dict[str, float | int | str | None] = Field(default_factory=dict)


class Alert(Record):
    """Something a person should look at, keyed by model name on ``alerts``."""

    alert_id: str
    model_name: str
    model_version: str
    kind: Literal[
        "data_drift",
        "prediction_drift",
        "concept_drift",
        "performance_drop",
        "multivariate_drift",
        "estimated_performance_drop",
    ]
    severity: Literal["info", "warning", "critical"] = "warning"
    message: str
    window_id: int | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    created_at: UtcDatetime = Field(default_factory=utc_now)


class RetrainRequest(Record):
    """Ask the retrain worker for a challenger; ``request_id`` makes it idempotent."""

    request_id: str = Field(min_length=1)
    model_name: str
    champion_version: str
    reason: Literal["concept_drift", "performance_drop", "estimated_drop", "data_drift", "manual"]
    evidence: dict[str, Any] = Field(default_factory=dict)
    train_from: UtcDatetime
    train_until: UtcDatetime
    created_at: UtcDatetime = Field(default_factory=utc_now)


class ModelEvent(Record):
    """A change in the registry, keyed by model name on ``model-events``."""

    event_type: Literal[
        "registered", "promoted", "rejected", "rolled_back", "failed", "canary_stopped"
    ]
    model_name: str
    version: str | None = None
    previous_version: str | None = None
    request_id: str | None = None
    actor: str = "centinela"
    reason: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    created_at: UtcDatetime = Field(default_factory=utc_now)


class DeadLetter(Record):
    """A message that could not be processed, with why; the original bytes are kept (base64)."""

    source_topic: str
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    original: str = Field(description="the original message value, base64-encoded")
    reason: str
    detail: str = ""
    # Set when ``original`` holds only the first bytes of a larger message (so that the letter
    # always fits the dead-letter topic): the whole message's length and SHA-256.
    truncated: bool = False
    original_length: int | None = None
    original_sha256: str | None = None
    created_at: UtcDatetime = Field(default_factory=utc_now)


ALL_RECORD_TYPES: tuple[type[Record], ...] = (
    FeatureEvent,
    LabelEvent,
    Prediction,
    LabeledExample,
    DriftReport,
    Alert,
    RetrainRequest,
    ModelEvent,
    DeadLetter,
)
