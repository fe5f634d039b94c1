"""What the pipeline reads (Kafka records) and what one processed batch hands to the sink.

A :class:`BatchOutput` lists the batch's records to publish, its closed windows for the merger,
its changelog groups and the offsets to commit; :mod:`stream.sink` delivers them in that order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from centinela.contract.records import DeadLetter
from stream import blob_json
from stream.changelog import ChangelogGroup


class Message(Protocol):
    """What the pipeline reads of a Kafka record (aiokafka's ConsumerRecord fits)."""

    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass
class BatchStats:
    events: int = 0
    scored: int = 0
    shadow_scored: int = 0
    canary_served: int = 0
    labels: int = 0
    joined: int = 0
    late_events: int = 0
    late_outcomes: int = 0
    windows_closed: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)


@dataclass
class ClosedWindows:
    """A partition's closed window summaries and its new coverage, for the merger.

    Serialising summaries is numpy work the sink does in a thread (:meth:`encode`), off the
    event loop; the summaries belong to nobody else once closed.
    """

    model: str
    partition: int
    n_partitions: int
    closed_through: int
    windows: list[tuple[str, int, Any]]

    def encode(self) -> bytes:
        """The partial as :mod:`stream.blob_json`: the summaries' arrays after the JSON."""
        return blob_json.dumps(
            {
                "model": self.model,
                "partition": self.partition,
                "n_partitions": self.n_partitions,
                "closed_through": self.closed_through,
                "windows": [
                    {"version": version, "window_id": wid, "summary": summary.to_dict(binary=True)}
                    for version, wid, summary in self.windows
                ],
            }
        )


@dataclass
class BatchOutput:
    """What one batch asks the Kafka side to do, in this order: publish, log, commit."""

    predictions: dict[int, list[tuple[bytes, bytes]]] = field(default_factory=dict)
    # The challenger's, for shadow-predictions: published like predictions, read by nothing here.
    shadow_predictions: dict[int, list[tuple[bytes, bytes]]] = field(default_factory=dict)
    # Labeled rows carry their event time (ms) as the Kafka timestamp: the retrain worker
    # selects its training rows by time with the broker's time index.
    labeled: dict[int, list[tuple[bytes, bytes, int]]] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    closes: list[ClosedWindows] = field(default_factory=list)
    changelog: dict[int, ChangelogGroup] = field(default_factory=dict)  # encoded by the sink
    commits: dict[tuple[str, int], int] = field(default_factory=dict)
    stats: BatchStats = field(default_factory=BatchStats)

    def is_empty(self) -> bool:
        published = self.predictions or self.shadow_predictions or self.labeled
        return not (published or self.dead_letters or self.closes) and not (
            self.changelog or self.commits
        )
