from __future__ import annotations

import orjson

from centinela.contract.codec import encode
from centinela.contract.records import Alert, DriftReport, ModelEvent, RetrainRequest
from centinela.contract.settings import Settings
from centinela.demo.observer import DemoState, TopicObserver
from tests.stream.record_samples import sample_records


def test_each_output_topic_lands_in_its_place_in_the_state() -> None:
    state = DemoState()
    observer = TopicObserver(Settings(_env_file=None), state)  # type: ignore[call-arg]
    topics = observer.topics
    by_type = {type(r): r for r in sample_records()}
    observer._take(topics.drift, [encode(by_type[DriftReport])])
    observer._take(topics.alerts, [encode(by_type[Alert])])
    observer._take(topics.retrain_requests, [encode(by_type[RetrainRequest])])
    observer._take(topics.model_events, [encode(by_type[ModelEvent])] * 2)
    observer._take(topics.features, [b"{}"] * 3)
    observer._take(topics.dead_letter, [b"{}"])
    prediction = {"event_id": "e-1", "latency_ms": 2.0, "model_version": "3"}
    observer._take(topics.predictions, [orjson.dumps(prediction)] * 2)

    assert state.reports == [by_type[DriftReport]]
    assert state.alerts == [by_type[Alert]]
    assert state.retrain_requests == [by_type[RetrainRequest]]
    assert len(state.model_events) == 2
    assert (state.sent, state.dead_letters) == (3, 1)
    assert (state.scored, state.duplicates, state.versions_seen) == (1, 1, {"3": 2})
