"""Publishing ModelEvents on ``model-events``, keyed by model name (docs/architecture.md,
"Topics and keys")."""

from __future__ import annotations

import logging
import ssl
from types import TracebackType

from kafka import KafkaProducer
from kafka.errors import KafkaError, NoBrokersAvailable

from centinela.contract.codec import encode, encode_key
from centinela.contract.kafka_access import access_error, unreachable
from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.records import DeadLetter, ModelEvent
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics, dead_letter_max_bytes
from centinela.exceptions import BrokerUnavailableError

log = logging.getLogger(__name__)


class ModelEventPublisher:
    """Sends ModelEvents (and dead letters) and waits for the broker's acknowledgement of each one.

    Waiting matters: the retrain worker commits a request only after its outcome is recorded,
    and a review command reports success only once the event is on the topic.
    """

    def __init__(
        self, settings: Settings, *, topics: Topics | None = None, timeout_s: float = 30.0
    ) -> None:
        self.topics = topics or Topics.from_settings(settings)
        self.topic = self.topics.model_events
        self.timeout_s = timeout_s
        self._settings = settings
        self._producer: KafkaProducer | None = None

    def publish(self, event: ModelEvent) -> None:
        producer = self._open()
        try:
            future = producer.send(
                self.topic, key=encode_key(event.model_name), value=encode(event)
            )
            future.get(timeout=self.timeout_s)
        except KafkaError as error:
            raise access_error(self._settings) or BrokerUnavailableError(
                f"could not publish the {event.event_type} event for {event.model_name} "
                f"to {self.topic}: {error}"
            ) from None
        log.info(
            "model event %s: %s version %s%s",
            event.event_type,
            event.model_name,
            event.version or "-",
            f" ({event.reason})" if event.reason else "",
        )

    def dead_letter(self, letter: DeadLetter) -> None:
        """Park an undecodable retrain request on ``dead-letter``, keyed by its source topic."""
        topic = self.topics.dead_letter
        try:
            self._open().send(topic, key=encode_key(letter.source_topic), value=encode(letter)).get(
                timeout=self.timeout_s
            )
        except KafkaError as error:
            raise access_error(self._settings) or BrokerUnavailableError(
                f"could not publish to {topic}: {error}"
            ) from None
        log.warning("dead-lettered a message from %s: %s", letter.source_topic, letter.reason)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=self.timeout_s)
            self._producer = None

    def __enter__(self) -> ModelEventPublisher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _open(self) -> KafkaProducer:
        if self._producer is None:
            try:
                self._producer = KafkaProducer(
                    client_id="centinela-model-events",
                    acks="all",
                    retries=5,
                    max_request_size=dead_letter_max_bytes(self._settings),
                    **kafka_python_config(self._settings),
                )
            except (NoBrokersAvailable, KafkaError, ssl.SSLError) as error:  # SSLError: TLS refused
                raise unreachable(
                    self._settings, error, "ModelEvents cannot be published"
                ) from None
        return self._producer
