"""Dataset lineage: where a challenger's data came from, and a copy of it for the next retrain.

The slice read from Kafka is logged as an ``mlflow.data`` dataset whose source names the topic
and the time range, and the rows themselves are logged as a Parquet artifact of the run, so a
later retrain can mix in a share of this model's training data
(``CENTINELA_RETRAIN_CHAMPION_DATA_SHARE``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.data.dataset_source import DatasetSource
from mlflow.entities import DatasetInput, InputTag
from mlflow.exceptions import MlflowException

from retrain.data import TrainingData

log = logging.getLogger(__name__)

TRAINING_DATA_ARTIFACT = "training_data/training_data.parquet"
_LABEL, _TIME, _ID = "__label__", "__event_time__", "__event_id__"


class LabeledTopicSource(DatasetSource):
    """An ``mlflow.data`` source: a time range of a Kafka topic.

    >>> LabeledTopicSource("c.labeled", "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00",
    ...                    "localhost:9092").to_dict()["topic"]
    'c.labeled'
    """

    def __init__(self, topic: str, start: str, until: str, bootstrap: str) -> None:
        self.topic, self.start, self.until, self.bootstrap = topic, start, until, bootstrap

    @staticmethod
    def _get_source_type() -> str:
        return "kafka"

    def load(self) -> Any:
        raise NotImplementedError("read it again with retrain.data.read_labeled")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False  # only built explicitly, never guessed from a string

    @classmethod
    def _resolve(cls, raw_source: Any) -> LabeledTopicSource:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "from": self.start,
            "until": self.until,
            "bootstrap_servers": self.bootstrap,
        }

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> LabeledTopicSource:
        return cls(
            source_dict["topic"],
            source_dict["from"],
            source_dict["until"],
            source_dict.get("bootstrap_servers", ""),
        )


def dataset_input(
    data: TrainingData, source: LabeledTopicSource, *, name: str, context: str
) -> DatasetInput:
    """An MLflow dataset input (features plus target) with the Kafka range as its source."""
    frame = data.features.assign(**{_LABEL: data.labels})
    dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]
        frame, source=source, targets=_LABEL, name=name
    )
    return DatasetInput(
        dataset=dataset._to_mlflow_entity(),
        tags=[InputTag(key="mlflow.data.context", value=context)],
    )


def write_training_data(data: TrainingData, folder: Path) -> Path:
    """The rows as Parquet (features, label, event time, event id) in ``folder``."""
    path = folder / Path(TRAINING_DATA_ARTIFACT).name
    frame = data.features.assign(
        **{_LABEL: data.labels, _TIME: data.event_times, _ID: data.event_ids.astype(str)}
    )
    frame.to_parquet(path, index=False)
    return path


def read_training_data(tracking_uri: str, run_id: str) -> TrainingData | None:
    """The training data a run logged, or None if it logged none (e.g. a bootstrap champion)."""
    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=TRAINING_DATA_ARTIFACT, tracking_uri=tracking_uri
        )
    except (MlflowException, OSError) as error:
        log.info("run %s has no training data artifact (%s)", run_id, str(error)[:200])
        return None
    frame = pd.read_parquet(local)
    return TrainingData(
        features=frame.drop(columns=[_LABEL, _TIME, _ID]),
        labels=frame[_LABEL].to_numpy(),
        event_times=frame[_TIME].to_numpy(dtype="datetime64[ns]"),
        event_ids=frame[_ID].to_numpy(dtype=object),
        source=f"runs:/{run_id}/{TRAINING_DATA_ARTIFACT}",
        n_records=len(frame),
    )
