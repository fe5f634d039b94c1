"""When processing raises where nothing should: the records involved go to dead-letter as
``internal_error`` (the traceback goes to the worker's log) and the stream goes on.

Validation is meant to stop every bad value before it reaches the model or any state, so these
paths run only on a bug or on a value nobody foresaw. Two nets:

- :func:`unscorable_rows`: when the model raises on a batch, each event is scored alone to find
  the ones it cannot take; the others are scored as usual. Nothing was changed yet.
- :func:`quarantined`: when a batch raises anywhere else, all its records are dead-lettered
  and its offsets committed, so that a restart does not meet the same records again. State
  the batch had already changed stays changed (a partition's join or windows may then hold
  part of the batch); the records themselves are kept, in dead-letter.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from centinela.contract.codec import dead_letter
from stream.batch_output import BatchOutput, Message
from stream.scoring import FeatureArrays, score

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal_error"


def unscorable_rows(model: Any, arrays: FeatureArrays, profile: Any) -> list[int]:
    """The rows of ``arrays`` that the model raises on when scored alone."""
    bad = []
    for row in range(len(arrays)):
        try:
            score(model, arrays.take(slice(row, row + 1)), profile)
        except Exception:
            bad.append(row)
    return bad


def drop_unscorable(
    champion: Any,
    arrays: FeatureArrays,
    accepted: dict[int, list[Any]],
    matrices: dict[int, np.ndarray],
    features: Mapping[int, Sequence[Message]],
) -> list[Message]:
    """Take the events the model cannot score out of ``accepted`` (and their rows out of
    ``matrices``); return their messages. ``arrays`` holds the accepted events' rows in
    partition order."""
    bad = set(unscorable_rows(champion.model, arrays, champion.profile))
    dropped: list[Message] = []
    row = 0
    for partition in sorted(accepted):
        events = accepted[partition]
        rows = [i for i in range(len(events)) if row + i in bad]
        row += len(events)
        if not rows:
            continue
        by_value = {id(m.value): m for m in features.get(partition, ())}
        dropped += [by_value[id(events[i].raw)] for i in rows]
        accepted[partition] = [e for i, e in enumerate(events) if i not in set(rows)]
        if partition in matrices:
            matrices[partition] = np.delete(matrices[partition], rows, axis=0)
    return dropped


def describe(error: BaseException) -> str:
    """The error in one line, for a dead letter's detail (the log has the traceback)."""
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    return last[:500]


def quarantined(
    topics: tuple[str, str],
    features: Mapping[int, Sequence[Message]],
    labels: Mapping[int, Sequence[Message]],
    error: BaseException,
) -> BatchOutput:
    """Every record of the batch as an ``internal_error`` dead letter, with the commits that
    move past them."""
    features_topic, labels_topic = topics
    out = BatchOutput()
    detail = describe(error)
    for topic, batch in ((features_topic, features), (labels_topic, labels)):
        for partition, messages in batch.items():
            for message in messages:
                out.dead_letters.append(
                    dead_letter(
                        topic,
                        message.value,
                        INTERNAL_ERROR,
                        detail,
                        key=message.key,
                        partition=message.partition,
                        offset=message.offset,
                    )
                )
            if messages:
                out.commits[(topic, partition)] = messages[-1].offset + 1
    out.stats.events = sum(len(m) for m in features.values())
    out.stats.labels = sum(len(m) for m in labels.values())
    out.stats.dead_letters[INTERNAL_ERROR] += len(out.dead_letters)
    return out
