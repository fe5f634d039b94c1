"""The Faust app: the worker's lifecycle, web views, timers and agents around the hot path.

What runs in one worker process:

- :class:`~stream.scoring_service.ScoringService`: features and labels, micro-batches, predictions,
  labeled examples, dead letters, partial windows, changelog (aiokafka; the hot path);
- :class:`~stream.merger_service.MergerService`: partial windows -> drift reports, alerts,
  retrain requests, MLflow (active in one worker of the group);
- the ``model-events`` agent, a poll timer and, if set, the registry webhook
  (:mod:`stream.registry_webhook`): hot swap of the champion, and of the challenger scored in
  the shadow (:mod:`stream.challenger`);
- the web views of :mod:`stream.web`.

Values are raw bytes end to end (``value_serializer="raw"``) and decoded by
:mod:`centinela.contract.codec`, so no pickle and no Faust-specific envelope ever crosses Kafka.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust

from centinela.contract.codec import decode
from centinela.contract.kafka_clients import faust_broker_url, ssl_context
from centinela.contract.records import ModelEvent
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.drift.summary import WindowSummary
from centinela.exceptions import DecodeError
from centinela.models.profile import ReferenceProfile
from stream.alerts import Webhook
from stream.challenger import CHALLENGER_EVENTS, ChallengerHolder
from stream.champion import ChampionHolder
from stream.internal_topics import InternalTopics, group_base
from stream.merger_service import MergerService
from stream.monitoring import MonitoringLogger
from stream.prometheus import StreamMetrics
from stream.registry_webhook import RegistryWebhook
from stream.scoring_service import ScoringService
from stream.status import StatusBoard
from stream.web import register_views

log = logging.getLogger(__name__)

SWAP_EVENTS = frozenset({"promoted", "rolled_back"})


@dataclass
class StreamComponents:
    """Everything a worker runs, built once from settings (tests build it too)."""

    settings: Settings
    topics: Topics
    internal: InternalTopics
    holder: ChampionHolder
    metrics: StreamMetrics
    board: StatusBoard
    monitoring: MonitoringLogger
    webhook: Webhook | None
    scorer: ScoringService
    merger: MergerService
    registry_webhook: RegistryWebhook | None = None  # pushes alias moves (optional)
    challenger: ChallengerHolder | None = None  # scored in the shadow while there is one


def summary_maker(settings: Settings) -> Any:
    def make(
        profile: ReferenceProfile, version: str, window_id: int, start: float, end: float
    ) -> Any:
        return WindowSummary.empty(
            profile,
            model_version=version,
            window_id=window_id,
            window_start=datetime.fromtimestamp(start, UTC),
            window_end=datetime.fromtimestamp(end, UTC),
            exact_cap=settings.window_exact_cap,
        )

    return make


def build_components(
    settings: Settings,
    holder: ChampionHolder | None = None,
    challenger: ChallengerHolder | None = None,
) -> StreamComponents:
    holder = holder or ChampionHolder(settings)
    challenger = challenger or ChallengerHolder(settings)
    topics, internal = Topics.from_settings(settings), InternalTopics.from_settings(settings)
    metrics = StreamMetrics()
    board = StatusBoard()
    monitoring = MonitoringLogger(settings, metrics)
    webhook = Webhook(settings.alert_webhook_url, metrics) if settings.alert_webhook_url else None
    scorer = ScoringService(
        settings, topics, internal, holder, metrics, summary_maker(settings), challenger
    )
    merger = MergerService(
        settings,
        topics,
        internal,
        holder,
        metrics,
        board,
        monitoring,
        WindowSummary.from_dict,
        webhook,
        scoring_restores=scorer.restores_pending,
    )
    pushed = (
        RegistryWebhook(settings, holder, challenger) if settings.mlflow_webhook_secret else None
    )
    return StreamComponents(
        settings, topics, internal, holder, metrics, board, monitoring, webhook, scorer, merger,
        pushed, challenger,
    )  # fmt: skip


def faust_app(settings: Settings) -> faust.App:
    """The bare Faust app for these settings (no agents yet)."""
    options: dict[str, Any] = {}
    datadir = settings.home / "stream-data"
    datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    if settings.kafka_security_protocol != "PLAINTEXT":
        options["broker_credentials"] = _credentials(settings)
    return faust.App(
        group_base(settings),
        broker=faust_broker_url(settings),
        value_serializer="raw",
        key_serializer="raw",
        web_port=settings.stream_web_port,
        web_host="0.0.0.0",
        web_enabled=True,
        datadir=str(datadir),
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="latest",
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        **options,
    )


def build_app(
    settings: Settings, parts: StreamComponents | None = None
) -> tuple[faust.App, StreamComponents]:
    """The worker's Faust app with its services, agents, timers and views."""
    parts = parts or build_components(settings)
    app = faust_app(settings)
    model_events = app.topic(parts.topics.model_events, value_type=bytes)

    @app.agent(model_events)
    async def watch_models(stream: Any) -> None:
        async for value in stream:
            kind = event_kind(value, settings.model_name)
            if kind in SWAP_EVENTS:
                await parts.holder.refresh()
            if kind in CHALLENGER_EVENTS and parts.challenger is not None:
                await parts.challenger.refresh()

    @app.timer(settings.champion_poll_seconds)
    async def poll_champion() -> None:
        await parts.holder.refresh()
        if parts.challenger is not None:
            await parts.challenger.refresh()

    # Children of the app start with it, before Faust's own consumer has joined its group, so a
    # restarted worker scores again without waiting on the model-events rebalance.
    app.add_dependency(parts.scorer)
    app.add_dependency(parts.merger)
    if parts.registry_webhook is not None:
        app.add_dependency(parts.registry_webhook)
    register_views(app, parts)
    return app, parts


def wants_reload(value: bytes | None, model_name: str) -> bool:
    """A ModelEvent that may have moved the champion alias of our model.

    >>> wants_reload(b'{"event_type": "promoted", "model_name": "m", "version": "2"}', "m")
    True
    >>> wants_reload(b'{"event_type": "registered", "model_name": "m", "version": "3"}', "m")
    False
    >>> wants_reload(b"not json", "m")
    False
    """
    return event_kind(value, model_name) in SWAP_EVENTS


def event_kind(value: bytes | None, model_name: str) -> str | None:
    """The type of a ModelEvent about our model; None for another model's or an unreadable one.

    >>> event_kind(b'{"event_type": "registered", "model_name": "m", "version": "3"}', "m")
    'registered'
    >>> event_kind(b'{"event_type": "registered", "model_name": "other", "version": "3"}', "m")
    """
    try:
        event = decode(ModelEvent, value)
    except DecodeError as error:
        log.warning("ignoring an unreadable model event: %s", error)
        return None
    return event.event_type if event.model_name == model_name else None


def _credentials(settings: Settings) -> Any:
    protocol = settings.kafka_security_protocol
    context = ssl_context(settings) if protocol.endswith("SSL") else None
    if protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=None if password is None else password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    return faust.SSLCredentials(context)
