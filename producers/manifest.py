"""The ground-truth manifest of a run: where each drift starts and ends, by event index and
event time, plus everything needed to reproduce or score the run.

Times are recorded from the events actually stamped, so they are right for any clock.

>>> from producers.drifts import DriftSpec
>>> truth = GroundTruth([DriftSpec("prior", start=3, share=0.9)], [])
>>> truth.observe(0, np.arange(5).astype("datetime64[s]"))
>>> entry = truth.entries(events_sent=5)[0]
>>> entry["start_index"], entry["start_time"], entry["reached"]
(3, '1970-01-01T00:00:03.000000Z', True)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from producers.drifts import DriftSpec
from producers.exceptions import ProducerError
from producers.sources import IntrinsicDrift

MANIFEST_VERSION = 1


class GroundTruth:
    """Injected and intrinsic drifts, with the event times observed at their boundaries."""

    def __init__(self, drifts: list[DriftSpec], intrinsic: list[IntrinsicDrift]) -> None:
        self._entries: list[dict[str, Any]] = [
            {
                **drift.describe(),
                "origin": "injected",
                "start_index": drift.start,
                "end_index": drift.end,
                "until_index": drift.until,
            }
            for drift in drifts
        ]
        self._entries += [
            {
                "kind": item.kind,
                "mode": "sudden" if item.end_index == item.start_index else "gradual",
                "params": item.params,
                "origin": "source",
                "start_index": item.start_index,
                "end_index": item.end_index,
                "until_index": None,
            }
            for item in intrinsic
        ]
        self._times: dict[int, str | None] = {}
        for entry in self._entries:
            for key in ("start_index", "end_index", "until_index"):
                if entry[key] is not None:
                    self._times[int(entry[key])] = None
        self._waiting = sorted(self._times)

    def observe(self, start: int, event_times: np.ndarray) -> None:
        """Note the event times (datetime64, UTC) of consecutive events from ``start``."""
        end = start + len(event_times)
        while self._waiting and self._waiting[0] < end:
            index = self._waiting.pop(0)
            if index >= start:
                moment = event_times[index - start].astype("datetime64[us]")
                self._times[index] = f"{np.datetime_as_string(moment, unit='us')}Z"

    def entries(self, events_sent: int) -> list[dict[str, Any]]:
        result = []
        for entry in self._entries:
            item = dict(entry)
            for key in ("start", "end", "until"):
                index = item[f"{key}_index"]
                item[f"{key}_time"] = None if index is None else self._times.get(int(index))
            item["reached"] = item["start_index"] < events_sent
            result.append(item)
        return result

    @property
    def first_change(self) -> int | None:
        starts = [int(e["start_index"]) for e in self._entries]
        return min(starts) if starts else None


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write atomically, so a reader never sees half a manifest."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError as error:
        raise ProducerError(f"cannot write the manifest {path}: {error}") from None


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ProducerError(f"cannot read the manifest {path}: {error}") from None
    return data
