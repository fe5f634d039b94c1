"""Replay sources: column mapping, CSV and Parquet, river's bundled data, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from producers.clock import EventClock
from producers.exceptions import DatasetError
from producers.runner import ProduceRun, RunOptions
from producers.scenario import DeliveryPlan, Scenario, ScenarioStream
from producers.sources import ColumnMapping, ReplaySource, SourceSpec
from tests.producers.support import MemorySink


def _table(tmp_path: Path, suffix: str = ".csv") -> Path:
    frame = pd.DataFrame(
        {
            "when": ["2026-02-01 00:00:01", "2026-02-01 00:00:02", "2026-02-01 00:00:03"],
            "txn": ["a-1", "a-2", "a-3"],
            "amount": [10.5, 20.0, 30.25],
            "country": ["es", "fr", "es"],
            "fraud": ["no", "yes", "no"],
        }
    )
    path = tmp_path / f"data{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_mapped_file_replays_with_its_own_ids_and_times(tmp_path: Path, suffix: str) -> None:
    mapping = ColumnMapping(
        path=str(_table(tmp_path, suffix)),
        label="fraud",
        categorical=("country",),
        time_column="when",
        id_column="txn",
    )
    source = ReplaySource(mapping)
    assert source.feature_names == ("amount", "country") and source.classes == ("no", "yes")
    scenario = Scenario("replay", "", SourceSpec("replay", mapping=mapping), default_events=0)
    sink = MemorySink()
    topics = Topics.from_settings(Settings(_env_file=None, topic_prefix="r."))  # type: ignore[call-arg]
    run = ProduceRun(
        ScenarioStream(scenario, 0, DeliveryPlan()),
        sink,
        topics,
        EventClock("wall"),
        RunOptions(events=None, run_id="x"),
    )
    result = run.run()
    events = sink.messages[topics.features]
    assert result.events_sent == 3 and result.manifest["clock"] == {"kind": "data"}
    assert [v["event_id"] for _, v in events] == ["a-1", "a-2", "a-3"]
    assert events[1][1]["features"] == {"amount": 20.0, "country": "fr"}
    assert events[2][1]["event_time"] == "2026-02-01T00:00:03.000000Z"
    assert [v["label"] for _, v in sink.messages[topics.labels]] == ["no", "yes", "no"]


def test_river_phishing_ships_in_the_wheel_and_replays_offline() -> None:
    source = ReplaySource(ColumnMapping(path="river:phishing"))
    rows = source.draw(2000)
    assert rows.n == 1250 and source.label_column == "is_phishing"
    assert set(np.unique(rows.labels).tolist()) == {0, 1}
    assert len(source.feature_names) == 9


@pytest.mark.parametrize(
    ("content", "mapping", "message"),
    [
        (None, {"label": "y"}, "does not exist"),
        ("a,y\n1,0\n", {"label": "z"}, "has no column 'z'"),
        (
            "a,b,y\n1,2,0\n3,oops,1\n",
            {"label": "y"},
            "column 'b' is not numeric: row 1 holds 'oops'",
        ),
        ("a,y\n1,0\n,1\n", {"label": "y"}, "column 'a' has a missing value at row 1"),
        ("a,id,y\n1,k,0\n2,k,1\n", {"label": "y", "id_column": "id"}, "duplicate ids"),
        ("a,t,y\n1,never,0\n", {"label": "y", "time_column": "t"}, "does not parse"),
        ("a,y\n1,0\n", {}, "name the label column"),
    ],
)
def test_bad_files_and_mappings_are_named_errors(
    tmp_path: Path, content: str | None, mapping: dict, message: str
) -> None:
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        ReplaySource(ColumnMapping(path=str(path), **mapping))


def test_unknown_river_dataset_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="available: phishing"):
        ReplaySource(ColumnMapping(path="river:imaginary"))
    odd = tmp_path / "data.xlsx"
    odd.write_text("x")
    with pytest.raises(DatasetError, match=r"reads \.csv"):
        ReplaySource(ColumnMapping(path=str(odd), label="y"))
