"""Typed, frozen settings, read once per process from ``CENTINELA_*`` variables and ``.env``.

Build them at the entry point with :func:`load_settings` and pass them down; nothing else in
Centinela reads ``os.environ``. The defaults match the stack that ``centinela up`` starts, so
every command works with no settings at all.

>>> s = Settings(topic_prefix="demo.")
>>> s.topic_prefix, s.kafka_bootstrap_servers
('demo.', 'localhost:9092')
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from centinela.exceptions import ConfigError

ENV_PREFIX = "CENTINELA_"


class Settings(BaseSettings):
    """Every knob of Centinela. Field ``x`` is read from ``CENTINELA_X``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        frozen=True,
        extra="ignore",
        case_sensitive=False,
        use_attribute_docstrings=True,  # the docstrings below document each setting
    )

    # --- Kafka -------------------------------------------------------------------------------
    kafka_bootstrap_servers: str = Field("localhost:9092", min_length=1)
    """Kafka brokers to bootstrap from, comma-separated host:port."""
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """How clients talk to Kafka: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    """SASL mechanism when the protocol is SASL_*."""
    kafka_sasl_username: str | None = None
    """SASL user name (required with SASL_*)."""
    kafka_sasl_password: SecretStr | None = None
    """SASL password (secret; required with SASL_*)."""
    kafka_ssl_cafile: Path | None = None
    """CA bundle that signs the brokers' certificates (SSL, SASL_SSL)."""
    kafka_ssl_certfile: Path | None = None
    """Client certificate for mutual TLS."""
    kafka_ssl_keyfile: Path | None = None
    """Client private key for mutual TLS."""
    kafka_ssl_key_password: SecretStr | None = None
    """Password of the client private key (secret)."""
    topic_prefix: str = "centinela."
    """Prefix of every Centinela topic name."""
    topic_partitions: int = Field(4, ge=1, le=1024)
    """Partitions per topic on `centinela topics create` (features and labels must match)."""
    topic_replication_factor: int = Field(1, ge=1, le=16)
    """Replication factor on `centinela topics create`."""
    labeled_retention_bytes: int = Field(8 * 1024**3, ge=-1)
    """Bytes per partition the `labeled` topic keeps (-1: all). It is retained by size, never by
    age: its records carry their event times, and a replay of data older than Kafka's 7 days
    would otherwise be deleted at once, before any retraining could read it."""
    max_message_bytes: int = Field(1_000_000, ge=1024)
    """Messages larger than this go to dead-letter as `oversized`."""
    event_time_max_ahead_seconds: float = Field(3600.0, ge=0)
    """Events and labels stamped further ahead of the worker's clock go to dead-letter as
    `time_out_of_range` (one far-future time would otherwise close every window)."""
    event_time_max_age_seconds: float = Field(10 * 365 * 86400.0, gt=0)
    """Events and labels older than this (default ten years) go to dead-letter as
    `time_out_of_range`; raise it to replay older datasets."""
    feature_max_abs: float = Field(1e15, gt=0, le=1e18)  # ints stay within 64 bits
    """Numeric features with a larger magnitude go to dead-letter as `out_of_range`: such
    values overflow the model's and the drift tests' arithmetic."""
    start_from: Literal["earliest", "latest"] = "earliest"
    """Where a stream worker group starts on topics it has never read: `earliest` scores their
    whole history, `latest` only what arrives from now on. Later starts resume where it left."""

    # --- MLflow ------------------------------------------------------------------------------
    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    """MLflow tracking server (or store URI) holding runs and the model registry."""
    mlflow_tracking_username: str | None = None
    """MLflow basic-auth user, if the server needs one. Every process checks it with the
    password at start; a refusal stops the process with a message naming both settings."""
    mlflow_tracking_password: SecretStr | None = None
    """MLflow basic-auth password (secret: never logged). Give it here, not in the tracking
    URI."""
    model_name: str = Field("centinela-model", min_length=1)
    """Registered model whose `champion` alias is scored."""
    monitoring_experiment: str = "centinela-monitoring"
    """MLflow experiment of the monitoring runs (one per champion version)."""
    training_experiment: str = "centinela-training"
    """MLflow experiment of bootstrap and retrain runs."""

    # --- Local stack (`centinela up`) ----------------------------------------------------------
    home: Path = Path(".centinela")
    """Folder every command writes its files to, so it must be writable: the local stack's data,
    logs and pid files (`centinela up`), a stream worker's Faust data (`stream-data/`), producer
    manifests. The container image sets `/var/lib/centinela`."""
    local_kafka_port: int = Field(9092, ge=1, le=65535)
    """Port of the local jar broker started by `centinela up`."""
    local_kafka_controller_port: int = Field(9093, ge=1, le=65535)
    """KRaft controller port of the local jar broker."""
    local_mlflow_port: int = Field(5000, ge=1, le=65535)
    """Port of the local MLflow server started by `centinela up`."""

    # --- Scoring -----------------------------------------------------------------------------
    stream_app_id: str = "centinela-stream"
    """Faust app id: the stream workers' consumer group and internal topic names."""
    stream_web_port: int = Field(6066, ge=1, le=65535)
    """Port of the stream worker's /health, /ready, /metrics and /status."""
    batch_size: int = Field(1000, ge=1, le=100_000)
    """Most events scored in one vectorised predict."""
    batch_wait_ms: int = Field(50, ge=0, le=60_000)
    """Longest wait to fill a scoring batch."""
    fetch_min_bytes: int = Field(65_536, ge=1, le=16 * 1024 * 1024)
    """Bytes of features and labels the broker gathers before it answers the stream worker's
    fetch (or `CENTINELA_FETCH_MAX_WAIT_MS` passed). A small batch costs more per event (the
    batch step: 56 us of CPU per event for batches of 50 events over 4 partitions, 30 us for
    1,000 in one); gathering ~100 events first let a worker at 5,000 events/s with labels keep
    up with less CPU, and its p99 latency went from 692 to 381 ms (docs/benchmarks.md)."""
    fetch_max_wait_ms: int = Field(20, ge=0, le=500)
    """Longest the broker holds the stream worker's fetch for `CENTINELA_FETCH_MIN_BYTES`: what a
    quiet stream's events may wait at most, beside `CENTINELA_BATCH_WAIT_MS`."""
    stream_math_threads: int = Field(1, ge=1, le=256)
    """Threads that the stream worker's numeric libraries (BLAS, OpenMP: the model's predict,
    the drift tests) may each use. Its batches are small: extra threads mostly spin while
    waiting for work, taking CPU from the scoring loop and the broker (the batch step
    in-process: 63 us of CPU per event with numpy's default of one per core, 42 us with one;
    docs/benchmarks.md)."""
    champion_poll_seconds: float = Field(10.0, gt=0)
    """How often the registry is polled for a moved `champion` or `challenger` alias (a
    challenger is scored in the shadow while it exists)."""
    canary_share: float = Field(0.0, ge=0, le=1)
    """Share of events the challenger serves on `predictions` (role `canary`), chosen by a
    hash of the event id so a replay decides the same; 0 serves none. The canary stops by
    itself once the live evidence calls the challenger worse: set the same value for the
    retrain worker, which watches that evidence."""
    mlflow_webhook_secret: SecretStr | None = None
    """Secret of the MLflow registry webhook each stream worker registers, so that a moved
    `champion` or `challenger` alias is pushed to every worker (secret; unset: no webhook, the
    model-events topic and the poll swap them). Needs an MLflow 3.x server with webhooks."""
    stream_advertised_url: str | None = None
    """Where the MLflow server reaches this worker's web port, for its webhook (default
    http://127.0.0.1:<CENTINELA_STREAM_WEB_PORT>)."""

    # --- Label join --------------------------------------------------------------------------
    join_ttl_seconds: float = Field(3600.0, gt=0)
    """How long a prediction waits for its label (and a label for its event). In memory: ~490
    bytes per waiting prediction with 20 float features (~900 for events with integer features,
    kept as JSON), then ~85 bytes per event id for the rest of the TTL (to catch duplicates);
    past ``join_memory_entries`` the oldest go to disk."""
    join_memory_entries: int = Field(200_000, ge=1_000)
    """Join entries (waiting predictions, waiting labels, remembered ids) a worker keeps in
    memory, shared evenly among the partitions it owns (at least 1,000 each); older ones move
    to RocksDB folders under ``home`` (stream-state/), so RAM does not grow with the TTL, the
    rate or the partitions a worker takes over: at most ~100 MB at the default with 20 float
    features (~490 bytes per waiting prediction, ~85 per remembered id), plus RocksDB's own
    16 MB for all partitions (block cache with index and filter blocks, and memtables). Disk:
    about the same bytes per entry, for the TTL. A label that comes before its event waits
    too (~450 bytes); while a partition's features are behind, its labels pause once such labels
    fill an eighth of its share."""

    state_snapshots: bool = True
    """When a partition leaves a stream worker cleanly (a rebalance, or a stop by SIGTERM), keep
    its state in a snapshot under ``home`` (stream-state/snapshots/), so that the next worker
    on this machine that gets the partition loads it and replays only the changelog written
    after it, instead of the whole changelog. Off: every assignment replays the whole
    changelog."""
    state_snapshot_interval_seconds: float = Field(60.0, ge=0)
    """With ``state_snapshots``, a running stream worker also snapshots its partitions this
    often (0: only when they leave it), so that after a crash, which leaves no snapshot of its
    own, the next worker on this machine replays only the changelog written since the last
    one. The stream waits while each partition's state is captured (40-90 ms per partition
    with millions of join entries, measured; the worker logs each capture), one partition at a
    time, 2 s apart; the join's entries in memory are then written in a thread. Disk: a
    snapshot shares the join's RocksDB files through hard links, so it costs about the join's
    entries in memory (~490 bytes each) and the table files the live join has compacted away
    since."""

    # --- Drift windows -----------------------------------------------------------------------
    window_seconds: float = Field(20.0, gt=0)
    """Length of a tumbling drift window, in event time."""
    allowed_lateness_seconds: float = Field(10.0, ge=0)
    """How late (in event time) an event may arrive and still count in its window."""
    drift_alpha: float = Field(0.01, gt=0, lt=1)
    """Family-wise false-alarm rate of a window's data-drift tests."""
    drift_correction: Literal["bonferroni", "bh"] = "bonferroni"
    """Multiple-testing correction: bonferroni or bh (Benjamini-Hochberg)."""
    drift_numeric_test: Literal["ks", "psi", "wasserstein", "js"] = "ks"
    """Test that decides drift of a numeric feature: ks, psi, wasserstein or js."""
    drift_categorical_test: Literal["chi2", "psi", "js"] = "chi2"
    """Test that decides drift of a categorical feature: chi2, psi or js."""
    psi_threshold: float = Field(0.2, gt=0)
    """PSI above which a feature drifted (when the test is psi)."""
    js_threshold: float = Field(0.1, gt=0, le=1)  # Jensen-Shannon distance, base 2
    """Jensen-Shannon distance (base 2) above which a feature drifted (test js)."""
    wasserstein_threshold: float = Field(0.1, gt=0)  # in reference standard deviations
    """Wasserstein distance, in reference standard deviations, above which a feature drifted."""
    drift_ks_method: Literal["asymp", "exact", "auto"] = "asymp"  # as scipy's ks_2samp method
    """KS p-value method, as scipy's ks_2samp: asymp, exact or auto."""
    reference_sample_size: int = Field(10_000, ge=100)
    """Rows of the reference sample kept in a model's profile for exact tests."""
    window_exact_cap: int = Field(20_000, ge=100)
    """Most exact values kept per feature and window (a deterministic subsample beyond)."""
    concept_detector: Literal["adwin", "ddm", "page_hinkley", "kswin"] = "adwin"
    """Sequential detector on the error stream: adwin, ddm, page_hinkley or kswin."""
    concept_alpha: float = Field(0.001, gt=0, lt=1)
    """Significance of the windowed performance-drop test: the window's errors against the
    baseline's (a one-sided Fisher exact test on both counts)."""
    false_alarm_budget_events: float = Field(10_000_000.0, gt=0)
    """Labeled events expected between two false retrain requests when nothing drifts: each
    window's performance-drop test runs at its share of this budget (labels in the window / (2
    x budget), at most CENTINELA_CONCEPT_ALPHA). See docs/benchmarks.md for the measured run
    length."""
    estimated_drop_tolerance: float = Field(0.05, gt=0, lt=1)
    """An `estimated_performance_drop` alert when a window's accuracy estimated before labels is
    more than this below the model's baseline accuracy; the retrain policy takes it as evidence
    of impact (a request on `estimated_drop`, weaker than a realised drop)."""
    drift_min_events: int = Field(100, ge=0)
    """Fewest events a window needs for a data- and prediction-drift verdict; below, those
    tests are not run and the report says the verdict was withheld."""
    concept_min_labels: int = Field(100, ge=0)
    """Fewest labeled outcomes a window needs for a performance-drop verdict; below, the test
    is not run and the report says the verdict was withheld."""
    report_every_windows: int = Field(10, ge=1)
    """Every this many windows, a drift report to MLflow: those windows (JSON), last 500 (PNG)."""
    metrics_queue_size: int = Field(10_000, ge=1)
    """Window metrics held while MLflow is away; beyond, they are counted as dropped."""
    alert_webhook_url: str | None = None
    """If set, every alert is also POSTed here as JSON (with retries)."""

    # --- Retrain policy ----------------------------------------------------------------------
    policy_min_drifted_features: int = Field(2, ge=1)
    """Data drift is a retrain trigger (with `CENTINELA_POLICY_RETRAIN_ON_DATA_DRIFT`) when at
    least this many features drift..."""
    policy_consecutive_windows: int = Field(2, ge=1)
    """...for this many consecutive windows."""
    policy_cooldown_seconds: float = Field(3600.0, ge=0)
    """After a retrain request, no other for this long (event time), unless a stronger trigger
    (data drift < performance drop < concept drift) supersedes it."""
    policy_min_labeled: int = Field(500, ge=0)
    """No retrain request before this many labeled examples were seen."""
    policy_retrain_on_data_drift: bool = False
    """Let data drift alone (the features above, no realised performance drop) ask for a
    challenger, as before; off, it raises alerts only."""
    retrain_group_id: str = "centinela-retrain"
    """Consumer group of the retrain workers."""
    retrain_min_rows: int = Field(500, ge=10)
    """Fewest labeled rows a retrain may train on."""
    retrain_target_rows: int = Field(10_000, ge=0)
    """Labeled examples a retrain raised by the policy trains on: with fewer in the requested
    range, the worker reads on past its end as labels arrive, until it holds this many since the
    range's start (the change) or CENTINELA_RETRAIN_WAIT_SECONDS pass. Manual requests train on
    their range as given; 0 turns the wait off."""
    retrain_wait_seconds: float = Field(600.0, ge=0, le=3000)
    """Longest (wall clock) a retrain waits for CENTINELA_RETRAIN_TARGET_ROWS labeled examples;
    then it trains on those that have arrived. At most 3000: the worker does not poll its
    consumer group while it waits, and the group drops a member silent for an hour."""
    retrain_champion_data_share: float = Field(0.0, ge=0, le=1)
    """Share of the champion's training data mixed into a retrain."""
    retrain_holdout_share: float = Field(0.2, gt=0, lt=1)
    """Most recent share of the data held out to compare challenger and champion."""
    auto_promote: bool = False
    """Promote a challenger without a person once it passed MLflow's gate on the hold-out and
    the live evidence calls it better (off by default)."""
    auto_promote_min_improvement: float = Field(0.01, gt=0)
    """Gain in f1_score over the champion on the hold-out that MLflow's promotion gate (a
    MetricThreshold) asks of a challenger; automatic promotion follows that gate."""
    auto_promote_min_holdout: int = Field(1000, ge=1)
    """Hold-out rows an automatic promotion needs."""
    auto_promote_check_seconds: float = Field(60.0, gt=0)
    """How often the retrain worker looks at the challenger's live evidence when automatic
    promotion is on (it promotes once the evidence calls the challenger better) or a canary
    serves (it stops the canary once the evidence calls the challenger worse)."""
    live_comparison_alpha: float = Field(0.05, gt=0, lt=1)
    """Level of the always-valid test of challenger against champion on live labeled events
    (`centinela models compare`, `promote`): its chance of ever calling equal models better or
    worse, however often it is looked at."""

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_a_topic_name(cls, value: str) -> str:
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if not set(value) <= allowed:
            raise ValueError("may hold only letters, digits, '.', '_' and '-'")
        return value

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                "CENTINELA_KAFKA_SASL_USERNAME and CENTINELA_KAFKA_SASL_PASSWORD are required "
                f"when CENTINELA_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol}"
            )
        return self

    @property
    def mlflow_address(self) -> str:
        """The tracking URI for messages and logs: any user or password in it left out."""
        return without_credentials(self.mlflow_tracking_uri)

    def as_environment(self) -> dict[str, str]:
        """These settings as ``CENTINELA_*`` variables, secrets included, for a child process.

        Only for handing settings to processes Centinela starts itself; never log the result.
        """
        environment = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            environment[ENV_PREFIX + name.upper()] = str(value)
        return environment


def without_credentials(uri: str) -> str:
    """``uri`` without the ``user:password@`` part a URI may carry.

    >>> without_credentials("https://ana:s3cret@mlflow.example:5000/path")
    'https://mlflow.example:5000/path'
    >>> without_credentials("postgresql://mlflow:mlflow@db/mlflow")
    'postgresql://db/mlflow'
    >>> without_credentials("sqlite:///tmp/mlflow.db")
    'sqlite:///tmp/mlflow.db'
    """
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def load_settings(**overrides: object) -> Settings:
    """Read the settings once, turning a validation failure into a message naming each setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(describe_invalid_settings(error)) from None


def describe_invalid_settings(error: ValidationError) -> str:
    lines = ["invalid settings:"]
    for problem in error.errors():
        location = [str(part) for part in problem["loc"]]
        name = (ENV_PREFIX + location[0]).upper() if location else "settings"
        lines.append(f"  {name}: {problem['msg']}")
    return "\n".join(lines)
