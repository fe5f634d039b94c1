"""Training data: the requested range of ``labeled``, by event time.

A RetrainRequest's range is in event time (the stream's windows are event-time windows, and a
producer may run a scenario clock far from the broker's). The stream writes every labeled
example with its event time as the Kafka timestamp, so the broker's time index answers the
question directly: each partition is read from ``offsets_for_times(train_from)`` (the first
offset stamped at or after it; every earlier record is older) up to the end offset taken when
the read began, and records are kept when their ``event_time`` falls in ``[train_from,
train_until]`` (events arrive out of order, so later offsets may still hold older events).

Duplicates of an ``event_id`` (at-least-once delivery) keep the last one written.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, NoBrokersAvailable
from kafka.record import util as record_util

from centinela.contract.codec import decode
from centinela.contract.kafka_access import unreachable
from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.records import LabeledExample
from centinela.contract.settings import Settings
from centinela.contract.topic_reader import read_to_end_blocking
from centinela.exceptions import BrokerUnavailableError, DecodeError
from retrain.exceptions import RetrainError

log = logging.getLogger(__name__)

_STALL_SECONDS = 60.0  # no new record for this long while offsets remain: the broker is away


@dataclass(frozen=True)
class TrainingData:
    """Rows of features with their labels and event times (for the most-recent hold-out)."""

    features: pd.DataFrame
    labels: np.ndarray
    event_times: np.ndarray  # datetime64[ns] (UTC), one per row
    event_ids: np.ndarray
    source: str
    n_records: int = 0  # records read in the range, before deduplication
    n_duplicates: int = 0
    n_malformed: int = 0

    def __len__(self) -> int:
        return len(self.features)

    def take(self, rows: np.ndarray) -> TrainingData:
        """The subset at positional ``rows`` (counts describe the whole read, so they stay)."""
        return TrainingData(
            self.features.iloc[rows].reset_index(drop=True),
            self.labels[rows],
            self.event_times[rows],
            self.event_ids[rows],
            self.source,
            self.n_records,
            self.n_duplicates,
            self.n_malformed,
        )


def from_examples(examples: list[LabeledExample], source: str, **counts: int) -> TrainingData:
    """Columns from the examples' feature dicts; a key missing in some rows becomes NaN."""
    features = pd.DataFrame.from_records([example.features for example in examples])
    return TrainingData(
        features=features,
        labels=np.asarray([example.label for example in examples]),
        event_times=pd.to_datetime([example.event_time for example in examples], utc=True).to_numpy(
            dtype="datetime64[ns]"
        ),
        event_ids=np.asarray([example.event_id for example in examples], dtype=object),
        source=source,
        **counts,
    )


def read_labeled(settings: Settings, topic: str, start: datetime, until: datetime) -> TrainingData:
    """The labeled examples of ``topic`` whose event time is in ``[start, until]``."""
    source = f"kafka://{topic}?from={start.isoformat()}&until={until.isoformat()}"
    kept, counts = read_examples(settings, topic, start, until)
    return from_examples(kept, source, **counts)


def read_examples(
    settings: Settings, topic: str, start: datetime, until: datetime
) -> tuple[list[LabeledExample], dict[str, int]]:
    """The labeled examples themselves (the last of each event id), with the read's counts."""
    if until < start:
        return [], {"n_records": 0, "n_malformed": 0, "n_duplicates": 0}
    consumer = _open_consumer(settings)
    try:
        firsts = _first_offsets(consumer, topic, start)
        examples, counts = _consume(consumer, firsts, start, until, settings)
    except KafkaError as error:
        raise BrokerUnavailableError(f"reading {topic} failed: {error}") from None
    finally:
        consumer.close()
    kept = _deduplicate(examples)
    counts["n_duplicates"] = len(examples) - len(kept)
    scanned = counts.pop("n_scanned")
    log.info(
        "read %d labeled examples from %s (%d records scanned, %d duplicates, %d malformed)",
        len(kept),
        topic,
        scanned,
        counts["n_duplicates"],
        counts["n_malformed"],
    )
    return kept, counts


def read_tail(settings: Settings, topic: str, tail: int) -> list[bytes]:
    """The values of the last ``tail`` records of every partition of ``topic``."""
    consumer = _open_consumer(settings)
    values: list[bytes] = []
    try:
        numbers = sorted(consumer.partitions_for_topic(topic) or ())
        read_to_end_blocking(
            consumer,
            [TopicPartition(topic, number) for number in numbers],
            lambda tp, records: values.extend(r.value for r in records if r.value is not None),
            tail=tail,
            stall_seconds=_STALL_SECONDS,
        )
    except KafkaError as error:
        raise BrokerUnavailableError(f"reading {topic} failed: {error}") from None
    finally:
        consumer.close()
    return values


def _open_consumer(settings: Settings) -> KafkaConsumer:
    try:
        return KafkaConsumer(
            client_id="centinela-retrain-reader",
            group_id=None,  # a plain read by offsets; no group, nothing committed
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            # under the client's frame limit (centinela.contract.kafka_clients)
            fetch_max_bytes=32 * 1024 * 1024,
            request_timeout_ms=30_000,
            # kafka-python checks CRC32C in pure Python unless the `crc32c` C package is there:
            # 26 of 37 s when reading 50,000 records (docs/benchmarks.md). The broker checked
            # each batch's CRC when it was produced, and TCP checksums the wire, so the
            # pure-Python check is skipped.
            check_crcs=record_util.crc32c_c is not None,
            **kafka_python_config(settings),
        )
    except (NoBrokersAvailable, KafkaError, ssl.SSLError) as error:  # SSLError: TLS refused
        raise unreachable(settings, error) from None


def _first_offsets(consumer: KafkaConsumer, topic: str, start: datetime) -> dict[Any, int]:
    """Per partition, the first offset stamped at or after ``start``; partitions with none
    are left out."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise RetrainError(
            f"topic {topic} does not exist; create it with `centinela topics create`"
        )
    parts = [TopicPartition(topic, number) for number in sorted(partitions)]
    found = consumer.offsets_for_times(dict.fromkeys(parts, _millis(start)))
    return {part: first.offset for part, first in found.items() if first is not None}


def _consume(
    consumer: KafkaConsumer,
    firsts: dict[Any, int],
    start: datetime,
    until: datetime,
    settings: Settings,
) -> tuple[list[LabeledExample], dict[str, int]]:
    examples: list[LabeledExample] = []
    counts = {"n_scanned": 0, "n_records": 0, "n_malformed": 0}

    def keep(_: Any, messages: list[Any]) -> None:
        counts["n_scanned"] += len(messages)
        for message in messages:
            example = _decode(message.value, counts, settings)
            if example is not None and start <= example.event_time <= until:
                counts["n_records"] += 1
                examples.append(example)

    read_to_end_blocking(consumer, list(firsts), keep, starts=firsts, stall_seconds=_STALL_SECONDS)
    return examples, counts


def _decode(
    value: bytes | None, counts: dict[str, int], settings: Settings
) -> LabeledExample | None:
    try:
        return decode(LabeledExample, value, max_bytes=settings.max_message_bytes)
    except DecodeError as error:
        # The stream validated these already; a bad one is counted and reported, not trained on.
        counts["n_malformed"] += 1
        if counts["n_malformed"] <= 3:
            log.warning("skipping a malformed labeled example: %s", error)
        return None


def _deduplicate(examples: list[LabeledExample]) -> list[LabeledExample]:
    latest: dict[str, LabeledExample] = {}
    for example in examples:
        latest.pop(example.event_id, None)  # re-insert so the order follows the last write
        latest[example.event_id] = example
    return list(latest.values())


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
