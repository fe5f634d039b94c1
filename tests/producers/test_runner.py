"""The run loop with an in-memory sink: label scheduling, withheld labels, jitter, manifest,
and independence from chunking (pure logic; the Kafka path is in the integration tests)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from producers import runner as runner_module
from producers.catalogue import get_scenario
from producers.clock import EventClock
from producers.delays import LabelDelay
from producers.drifts import DriftSpec
from producers.manifest import read_manifest
from producers.runner import ProduceRun, RunOptions, RunResult
from producers.scenario import DeliveryPlan, Scenario, ScenarioStream
from producers.sources import SourceSpec
from tests.producers.support import MemorySink

TOPICS = Topics.from_settings(Settings(_env_file=None, topic_prefix="unit."))  # type: ignore[call-arg]
CLOCK = EventClock.scenario(seed=0, nominal_rate=100.0, window_seconds=20.0)


def _run(
    scenario: Scenario, plan: DeliveryPlan, events: int, manifest: Path | None = None
) -> tuple[MemorySink, RunResult]:
    sink = MemorySink()
    stream = ScenarioStream(scenario, seed=4, plan=plan)
    options = RunOptions(events=events, run_id="r", manifest=manifest)
    result = ProduceRun(stream, sink, TOPICS, CLOCK, options).run()
    return sink, result


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_labels_follow_their_events_after_a_fixed_delay_in_events() -> None:
    plan = DeliveryPlan(label_delay=LabelDelay.parse("fixed:700"))
    sink, result = _run(get_scenario("stable"), plan, 12_000)
    events, labels = sink.messages[TOPICS.features], sink.messages[TOPICS.labels]
    assert result.events_sent == len(events) == 12_000
    assert result.labels_sent == len(labels) == 12_000 and result.labels_pending == 0
    event_time = {key: _when(value["event_time"]) for key, value in events}
    for key, value in labels:
        assert key == value["event_id"].encode()
        gap = (_when(value["label_time"]) - event_time[key]).total_seconds()
        assert gap == pytest.approx(7.0)  # 700 events at the nominal 100 events/s
    # The label of event i is sent only once event i + 700 has been sent.
    place = {item: n for n, item in enumerate(sink.sequence)}
    for i in range(0, 11_300, 97):
        label_place = place[(TOPICS.labels, b"r-%d" % i)]
        assert label_place > place[(TOPICS.features, b"r-%d" % (i + 700))]


def test_withheld_labels_match_the_share_and_never_arrive() -> None:
    plan = DeliveryPlan(label_delay=LabelDelay.parse("exponential:200"), missing_share=0.25)
    sink, result = _run(get_scenario("stable"), plan, 8_000)
    labels = sink.messages[TOPICS.labels]
    assert result.labels_withheld + result.labels_sent == 8_000
    assert result.labels_withheld / 8_000 == pytest.approx(0.25, abs=0.02)
    assert len({key for key, _ in labels}) == len(labels) == result.labels_sent


def test_seconds_delays_use_the_event_time_clock() -> None:
    plan = DeliveryPlan(label_delay=LabelDelay.parse("uniform:2,4", unit="seconds"))
    sink, _ = _run(get_scenario("stable"), plan, 5_000)
    event_time = {k: _when(v["event_time"]) for k, v in sink.messages[TOPICS.features]}
    gaps = np.array(
        [(_when(v["label_time"]) - event_time[k]).total_seconds()
         for k, v in sink.messages[TOPICS.labels]]
    )  # fmt: skip
    assert gaps.min() >= 2.0 and gaps.max() <= 4.0
    assert gaps.mean() == pytest.approx(3.0, abs=0.05)


def test_jitter_sends_out_of_order_but_loses_nothing() -> None:
    plan = DeliveryPlan(label_delay=LabelDelay.parse("fixed:0"), jitter_seconds=2.0)
    sink, result = _run(get_scenario("stable"), plan, 6_000)
    order = [int(key.rsplit(b"-", 1)[1]) for key, _ in sink.messages[TOPICS.features]]
    assert sorted(order) == list(range(6_000)) and result.events_held == 0
    assert order != sorted(order)
    position = {index: place for place, index in enumerate(order)}
    # Held back at most 2 s of event time (200 events at 100 events/s): an event overtakes
    # at most the 200 before it; release happens per send chunk, so lateness gets one chunk.
    assert max(i - position[i] for i in range(6_000)) <= 200
    assert max(position[i] - i for i in range(6_000)) <= 200 + runner_module.MAX_CHUNK


def test_the_data_does_not_depend_on_how_the_run_is_chunked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = DeliveryPlan(label_delay=LabelDelay.parse("exponential:50"), missing_share=0.1)
    big, _ = _run(get_scenario("mixed"), plan, 7_000)
    monkeypatch.setattr(runner_module, "MAX_CHUNK", 333)
    small, _ = _run(get_scenario("mixed"), plan, 7_000)
    assert big.messages[TOPICS.features] == small.messages[TOPICS.features]
    assert sorted(big.messages[TOPICS.labels]) == sorted(small.messages[TOPICS.labels])


def test_the_manifest_names_each_drift_with_index_and_event_time(tmp_path: Path) -> None:
    scenario = Scenario(
        "two-drifts",
        "",
        SourceSpec("gaussian", {"n_features": 4, "n_informative": 2}),
        (
            DriftSpec("covariate", 2_000, features=("x1",), shift=1.0),
            DriftSpec("concept", 4_000, 1_000),
            DriftSpec("prior", 9_000, share=0.7),
        ),
    )
    path = tmp_path / "m.json"
    _, result = _run(scenario, DeliveryPlan(), 6_000, manifest=path)
    manifest = read_manifest(path)
    assert manifest == result.manifest
    covariate, concept, prior = manifest["drifts"]
    assert (covariate["kind"], covariate["mode"], covariate["start_index"]) == (
        "covariate", "sudden", 2_000)  # fmt: skip
    assert covariate["start_time"] == "2026-01-01T00:00:20.000000Z"
    assert (concept["mode"], concept["end_index"]) == ("gradual", 5_000)
    assert concept["end_time"] == "2026-01-01T00:00:50.000000Z"
    assert prior["reached"] is False and prior["start_time"] is None
    assert manifest["pre_drift_events"] == 2_000
    assert manifest["counts"]["events_sent"] == 6_000
    assert manifest["clock"]["epoch"] == "2026-01-01T00:00:00+00:00"
    assert manifest["clock"]["nominal_rate"] == 100.0


def test_a_stop_request_ends_the_run_at_the_next_chunk_flushed_and_counted() -> None:
    """What Ctrl-C and SIGTERM do (the CLI's handlers call request_stop)."""
    run: ProduceRun | None = None

    class StoppingSink(MemorySink):
        def send(self, topic: str, keys: list[bytes], values: list[bytes]) -> None:
            super().send(topic, keys, values)
            if topic == TOPICS.features and len(self.messages[topic]) >= 3_000:
                assert run is not None
                run.request_stop()

    sink = StoppingSink()
    plan = DeliveryPlan(label_delay=LabelDelay.parse("fixed:500"))
    stream = ScenarioStream(get_scenario("stable"), seed=4, plan=plan)
    run = ProduceRun(stream, sink, TOPICS, CLOCK, RunOptions(events=None, run_id="r"))
    result = run.run()
    sent = len(sink.messages[TOPICS.features])
    assert result.interrupted and run.stop_requested
    assert 3_000 <= sent < 3_000 + 5_000  # stopped within one chunk of the request
    assert result.events_sent == sent and sink.flushed == 1
    assert result.labels_sent + result.labels_pending == sent  # no label is lost or doubled
