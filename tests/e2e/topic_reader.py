"""Read whole topics back, to count what the workers produced."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition

from centinela.contract.codec import decode
from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.records import Alert, FeatureEvent, ModelEvent, Prediction, RetrainRequest
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics


class TopicReader:
    """Keeps reading a set of topics from the beginning; `poll()` returns what is new."""

    def __init__(self, settings: Settings, *topics: str) -> None:
        self.consumer = KafkaConsumer(**kafka_python_config(settings), enable_auto_commit=False)
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(self.consumer.partitions_for_topic(topic) or {0})
        ]
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning()

    def poll(self) -> dict[str, list[bytes]]:
        values: dict[str, list[bytes]] = {}
        while True:
            batches = self.consumer.poll(timeout_ms=500, max_records=20_000)
            if not batches:
                return values
            for partition, messages in batches.items():
                values.setdefault(partition.topic, []).extend(m.value for m in messages)

    def close(self) -> None:
        self.consumer.close()


class Seen:
    """Everything read back from the output topics so far."""

    def __init__(self, settings: Settings) -> None:
        self.topics = Topics.from_settings(settings)
        self.reader = TopicReader(
            settings,
            self.topics.features,
            self.topics.predictions,
            self.topics.alerts,
            self.topics.retrain_requests,
            self.topics.model_events,
        )
        self.feature_ids: list[str] = []
        self.predictions: list[Prediction] = []
        self.alerts: list[Alert] = []
        self.requests: list[RetrainRequest] = []
        self.model_events: list[ModelEvent] = []

    def refresh(self) -> Seen:
        new = self.reader.poll()
        t = self.topics
        self.feature_ids += [decode(FeatureEvent, v).event_id for v in new.get(t.features, [])]
        self.predictions += [decode(Prediction, v) for v in new.get(t.predictions, [])]
        self.alerts += [decode(Alert, v) for v in new.get(t.alerts, [])]
        self.requests += [decode(RetrainRequest, v) for v in new.get(t.retrain_requests, [])]
        self.model_events += [decode(ModelEvent, v) for v in new.get(t.model_events, [])]
        return self

    def scored_ids(self) -> set[str]:
        return {p.event_id for p in self.predictions}

    def all_scored(self) -> bool:
        return bool(self.feature_ids) and set(self.feature_ids) <= self.refresh().scored_ids()

    def registered(self) -> list[ModelEvent]:
        return [e for e in self.model_events if e.event_type == "registered"]
