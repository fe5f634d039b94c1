"""Reading a range of `labeled` by event time on a real broker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from centinela.contract.codec import encode
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from retrain.data import read_labeled
from tests.retrain.support import examples, labeled_frame, produce, recent

pytestmark = pytest.mark.integration


def test_only_the_requested_range_is_read_from_every_partition(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings(topic_partitions=3)
    topic = Topics.from_settings(settings).labeled
    start = recent(60)
    frame, labels = labeled_frame(230, seed=9)
    rows = examples(frame, labels, model="m", start=start)

    def stamp(index: int) -> int:  # one record a second, from an hour ago
        return int((start + timedelta(seconds=index)).timestamp() * 1000)

    records = [(row.event_id, encode(row), stamp(i)) for i, row in enumerate(rows)]
    # Written last, its event inside the range: read, and it replaces the first write.
    duplicate = rows[150].model_copy(update={"label": 1 - rows[150].label})  # a relabel
    records.append((duplicate.event_id, encode(duplicate), stamp(151)))
    records.append(("junk", b"{not json", stamp(152)))
    produce(settings, topic, records)

    data = read_labeled(
        settings, topic, start + timedelta(seconds=100), start + timedelta(seconds=199)
    )

    assert len(data) == 100
    assert sorted(data.event_ids) == sorted(f"e-{i}" for i in range(100, 200))
    assert (data.n_records, data.n_duplicates, data.n_malformed) == (101, 1, 1)
    relabeled = list(data.event_ids).index("e-150")
    assert data.labels[relabeled] == duplicate.label  # the last write wins
    assert list(data.features.columns) == ["x0", "x1", "x2", "x3", "colour"]


def test_an_empty_or_inverted_range_reads_nothing(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings()
    topic = Topics.from_settings(settings).labeled
    assert len(read_labeled(settings, topic, recent(10), recent(5))) == 0  # nothing written
    assert len(read_labeled(settings, topic, recent(5), recent(10))) == 0  # until < from


@pytest.mark.parametrize("days", [-300, 30], ids=["scenario-clock-behind", "scenario-clock-ahead"])
def test_event_times_far_from_the_broker_clock_are_found_by_their_timestamp(
    retrain_settings: Callable[..., Settings], days: int
) -> None:
    """Producers may run a scenario clock far from the broker's; the stream stamps each
    labeled record with its event time, and the read goes by that stamp alone."""
    settings = retrain_settings()
    scenario = recent(0) + timedelta(days=days)
    frame, labels = labeled_frame(120, seed=10)
    rows = examples(frame, labels, model="m", start=scenario)
    topic = Topics.from_settings(settings).labeled
    stamped = [(row.event_id, encode(row), int(row.event_time.timestamp() * 1000)) for row in rows]
    produce(settings, topic, stamped)

    data = read_labeled(
        settings, topic, scenario + timedelta(seconds=20), scenario + timedelta(seconds=79)
    )
    assert sorted(data.event_ids) == sorted(f"e-{i}" for i in range(20, 80))
