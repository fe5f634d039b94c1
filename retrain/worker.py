"""`centinela retrain`: the worker that turns RetrainRequests into challengers.

A kafka-python consumer in the group ``retrain_group_id`` reads ``retrain-requests`` one record
at a time. A request's offset is committed only after its outcome (a ``registered`` or a
``failed`` ModelEvent) is on ``model-events``; a crash in between re-delivers the request, and
the job's idempotency (by request id) keeps that to one challenger.

Failures are sorted in two: permanent ones (bad data, unknown model, no champion, a trainer
that cannot fit) become a ``failed`` event at once; transient ones (broker or MLflow away) are
retried with a growing pause, then reported as ``failed`` too. Nothing makes the worker exit or
loop hot; a request whose outcome cannot be recorded at all is simply read again later.

With ``CENTINELA_AUTO_PROMOTE`` or a ``CENTINELA_CANARY_SHARE``, the worker also looks at the
challenger's live evidence between polls (every ``auto_promote_check_seconds``): it stops the
canary once the evidence calls the challenger worse (a ``canary_stopped`` ModelEvent), and
promotes it once MLflow's gate passed and the evidence calls it better
(:mod:`retrain.promotion`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable

import requests
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, NoBrokersAvailable
from kafka.structs import OffsetAndMetadata
from mlflow.exceptions import MlflowException

from centinela.contract.codec import dead_letter, decode
from centinela.contract.kafka_access import check_access, unreachable
from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.records import ModelEvent, RetrainRequest
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.exceptions import (
    BrokerUnavailableError,
    CentinelaError,
    DecodeError,
    RegistryCredentialsError,
    RegistryError,
)
from centinela.models.registry import LoadedModel
from retrain.events import ModelEventPublisher
from retrain.exceptions import ReviewError
from retrain.job import Registered, run_request
from retrain.live_evidence import gather_live_evidence
from retrain.promotion import AUTO_ACTOR, auto_promotion
from retrain.review import Review

log = logging.getLogger(__name__)

TRANSIENT = (
    BrokerUnavailableError,
    RegistryError,  # includes RegistryUnavailableError
    KafkaError,
    MlflowException,
    requests.RequestException,
    OSError,
)
# Permanent: a CentinelaError that is not transient (invalid data, unknown model, no champion,
# trainer error, profile error). Anything else is a bug: reported as failed, never a crash loop.


class RetrainWorker:
    """Consume retrain requests and record one outcome per request."""

    def __init__(
        self,
        settings: Settings,
        *,
        attempts: int = 3,
        backoff_s: float = 5.0,
        run: Callable[[Settings, RetrainRequest], Registered] | None = None,
    ) -> None:
        self.settings = settings
        self.topics = Topics.from_settings(settings)  # once for the whole worker
        self.topic = self.topics.retrain_requests
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.stop = threading.Event()
        self.ready = threading.Event()  # set once the group has assigned partitions
        self.handled = 0
        self._run = run or functools.partial(run_request, topics=self.topics, pause=self.stop.wait)
        self._publisher = ModelEventPublisher(settings, topics=self.topics)
        self._next_promotion_check = 0.0  # monotonic time of the next look at the challenger
        self._looked_at: dict[str, LoadedModel] = {}  # the challenger, loaded once per version

    def serve(self, *, max_requests: int | None = None) -> int:
        """Handle requests until :attr:`stop` is set (or ``max_requests`` are done)."""
        check_access(self.settings)  # a refused login would otherwise be retried forever
        consumer = self._open_consumer()
        _warm_up()
        log.info(
            "waiting for retrain requests on %s (group %s)",
            self.topic,
            self.settings.retrain_group_id,
        )
        try:
            while not self.stop.is_set():
                if max_requests is not None and self.handled >= max_requests:
                    break
                batch = consumer.poll(timeout_ms=1000, max_records=1)
                if consumer.assignment():
                    self.ready.set()
                for part, records in batch.items():
                    for record in records:
                        self._handle_record(consumer, part, record)
                self._watch_challenger()
        finally:
            consumer.close(autocommit=False)
            self._publisher.close()
        return self.handled

    def _handle_record(
        self, consumer: KafkaConsumer, part: TopicPartition, record: ConsumerRecord
    ) -> None:
        try:
            event, registered = self._outcome(record)
            if event is not None:
                self._publisher.publish(event)
            consumer.commit({part: OffsetAndMetadata(record.offset + 1, "", -1)})
        except (BrokerUnavailableError, KafkaError, _StoppingError) as error:
            # The outcome could not be recorded: read the request again (after a pause).
            log.warning("offset %d of %s not done: %s", record.offset, part, error)
            with contextlib.suppress(KafkaError, AssertionError):
                # After a rebalance the partition may be another worker's now: it re-reads it.
                consumer.seek(part, record.offset)
            self.stop.wait(self.backoff_s)
            return
        self.handled += 1
        if registered is not None:
            self._next_promotion_check = 0.0  # a new challenger: look at once

    def _outcome(self, record: ConsumerRecord) -> tuple[ModelEvent | None, Registered | None]:
        try:
            request = decode(
                RetrainRequest, record.value, max_bytes=self.settings.max_message_bytes
            )
        except DecodeError as error:
            self._publisher.dead_letter(
                dead_letter(
                    record.topic,
                    record.value,
                    error.reason,
                    error.detail,
                    key=record.key,
                    partition=record.partition,
                    offset=record.offset,
                    keep_bytes=self.settings.max_message_bytes,
                )
            )
            return None, None
        log.info(
            "retrain request %s for %s (champion v%s, %s, %s .. %s)",
            request.request_id,
            request.model_name,
            request.champion_version,
            request.reason,
            request.train_from.isoformat(timespec="seconds"),
            request.train_until.isoformat(timespec="seconds"),
        )
        return self._attempt(request)

    def _attempt(self, request: RetrainRequest) -> tuple[ModelEvent, Registered | None]:
        for attempt in range(1, self.attempts + 1):
            try:
                registered = self._run(self.settings, request)
                return registered.event, registered
            except RegistryCredentialsError as error:  # retrying cannot change the answer
                log.error("request %s failed: %s", request.request_id, error)
                return _failed(request, str(error)), None
            except TRANSIENT as error:
                if self.stop.is_set():
                    raise _StoppingError(f"stopping during request {request.request_id}") from None
                if attempt == self.attempts:
                    return _failed(request, f"gave up after {attempt} attempts: {error}"), None
                pause = self.backoff_s * 2 ** (attempt - 1)
                log.warning(
                    "request %s, attempt %d failed (%s); retrying in %.0f s",
                    request.request_id,
                    attempt,
                    error,
                    pause,
                )
                self.stop.wait(pause)
            except CentinelaError as error:
                log.warning("request %s failed: %s", request.request_id, error)
                return _failed(request, str(error)), None
            except Exception as error:  # a bug: report it, keep serving
                log.exception("request %s hit an unexpected error", request.request_id)
                return _failed(request, f"internal error: {type(error).__name__}: {error}"), None
        raise AssertionError("unreachable: the last attempt returns")

    def _watch_challenger(self) -> None:
        """Every ``auto_promote_check_seconds``, with automatic promotion or a canary: read the
        challenger's live evidence; stop its canary once it is called worse, promote it once it
        is called better (:mod:`retrain.promotion`)."""
        now = time.monotonic()
        watching = self.settings.auto_promote or self.settings.canary_share > 0
        if not watching or now < self._next_promotion_check:
            return
        self._next_promotion_check = now + self.settings.auto_promote_check_seconds
        try:
            review = Review(self.settings, self._publisher, actor=AUTO_ACTOR)
            champion, challenger = review.compare()
        except ReviewError:
            return  # no model or no challenger: nothing to watch
        except (CentinelaError, *TRANSIENT) as error:
            log.warning("watching the challenger: the registry could not be read: %s", error)
            return
        if champion is None:
            return
        try:
            evidence = gather_live_evidence(
                self.settings,
                review.catalog,
                champion.version,
                challenger.version,
                loaded=self._looked_at,
            )
            if self.settings.canary_share > 0 and evidence.verdict == "worse":
                review.stop_canary(challenger.version, f"canary stopped: {evidence.describe()}")
            if challenger.comparison is None:
                return
            reason = auto_promotion(challenger.comparison, self.settings, evidence)
            if reason is not None:
                review.promote(challenger.version, reason, expected=champion.version)
        except (CentinelaError, *TRANSIENT) as error:
            log.warning("watching challenger v%s failed: %s", challenger.version, error)

    def _open_consumer(self) -> KafkaConsumer:
        try:
            return KafkaConsumer(
                self.topic,
                client_id="centinela-retrain",
                group_id=self.settings.retrain_group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=1,
                # Training runs between polls; the group must not evict a busy worker.
                max_poll_interval_ms=60 * 60 * 1000,
                **kafka_python_config(self.settings),
            )
        except (NoBrokersAvailable, KafkaError, ssl.SSLError) as error:  # SSLError: TLS refused
            raise unreachable(self.settings, error) from None


def _warm_up() -> None:
    """Import the plotting stack now, so the first request's timings show the work, not this."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: F401


class _StoppingError(Exception):
    """The worker is stopping in the middle of a request; it is left for the next one."""


def _failed(request: RetrainRequest, why: str) -> ModelEvent:
    return ModelEvent(
        event_type="failed",
        model_name=request.model_name,
        version=None,
        previous_version=request.champion_version,
        request_id=request.request_id,
        actor="centinela-retrain",
        reason=why[:2000],
    )
