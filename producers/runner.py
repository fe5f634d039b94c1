"""One produce run: scenario blocks -> event times -> jitter -> Kafka, with delayed labels.

Each tick takes a chunk of events (20 ms worth at the requested rate, 5,000 when unlimited),
stamps and encodes them in bulk, sends them, schedules their labels, and releases the labels
that are due. Labels are due ``delay`` events after their event (unit ``events``) or ``delay``
seconds of event time after it (unit ``seconds``: scenario time for the scenario clock, real
time for the wall clock), so with the scenario clock a run is the same however fast it goes.
Ctrl-C (or SIGTERM) stops the run at the next chunk (:meth:`ProduceRun.request_stop`; a
KeyboardInterrupt does the same for callers without signal handlers): what was handed to Kafka
is flushed, labels not yet due are counted as pending, and the manifest is written.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from centinela.contract.codec import (
    feature_values,
    generated_ids,
    given_ids,
    indexed_ids,
    label_values,
    time_texts,
)
from centinela.contract.topics import Topics
from producers.block import Block
from producers.clock import EventClock, seconds_of
from producers.due_queue import DueQueue, Payload
from producers.manifest import MANIFEST_VERSION, GroundTruth, write_manifest
from producers.progress import RunProgress
from producers.scenario import ScenarioStream

log = logging.getLogger(__name__)

MAX_CHUNK = 5_000
TICK_SECONDS = 0.02
FINAL_FLUSH_SECONDS = 60.0


class Sink(Protocol):
    """Where encoded messages go (the Kafka :class:`~producers.publisher.Publisher`)."""

    failed: int

    def send(self, topic: str, keys: list[bytes], values: list[bytes]) -> None: ...
    def flush(self, timeout: float = ...) -> int: ...


@dataclass(frozen=True)
class RunOptions:
    events: int | None  # None: until stopped
    rate: float = 0.0  # events per second; 0: as fast as possible
    run_id: str = "run"
    manifest: Path | None = None
    progress: bool = False


@dataclass
class RunResult:
    run_id: str
    events_sent: int = 0
    labels_sent: int = 0
    labels_withheld: int = 0
    labels_pending: int = 0
    events_held: int = 0
    delivery_failures: int = 0
    interrupted: bool = False
    elapsed_seconds: float = 0.0
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events_sent / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def summary(self, topics: Topics) -> str:
        stopped = " (interrupted)" if self.interrupted else ""
        return (
            f"sent {self.events_sent:,} events to {topics.features} and {self.labels_sent:,} "
            f"labels to {topics.labels} in {self.elapsed_seconds:.1f} s "
            f"({self.rate:,.0f} events/s){stopped}; labels withheld {self.labels_withheld:,}, "
            f"pending {self.labels_pending:,}; delivery failures {self.delivery_failures:,}"
        )


class ProduceRun:
    """Drives one run; ``run()`` returns its counts and the manifest it wrote."""

    def __init__(
        self,
        stream: ScenarioStream,
        sink: Sink,
        topics: Topics,
        clock: EventClock,
        options: RunOptions,
        *,
        description: dict[str, Any] | None = None,
    ) -> None:
        self.stream = stream
        self.sink = sink
        self.topics = topics
        self.clock = clock
        self.options = options
        self.description = description or {}
        self.plan = stream.plan
        self.truth = GroundTruth(stream.drifts, stream.source.intrinsic_drifts())
        self.result = RunResult(run_id=options.run_id)
        self._labels = DueQueue()
        self._held = DueQueue()
        self._pending: list[Block] = []
        self._exhausted = False
        self._generated = 0
        self._latest_seconds = -np.inf
        self._uses_data_time = False
        self._uses_data_ids = False
        self._started_at = datetime.now(UTC)
        # A plain flag, not a threading.Event: set from a signal handler, an Event's lock could
        # already be held by the very code the signal interrupted.
        self._stop = False

    @property
    def stop_requested(self) -> bool:
        return self._stop

    def request_stop(self) -> None:
        """Stop at the next chunk: safe from a signal handler (nothing is raised mid-send)."""
        self._stop = True

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> RunResult:
        started = time.perf_counter()
        limit = self.options.events
        rate = self.options.rate
        chunk_size = MAX_CHUNK if rate <= 0 else int(min(max(rate * TICK_SECONDS, 1), MAX_CHUNK))
        with RunProgress(limit, enabled=self.options.progress) as progress:
            try:
                while (limit is None or self._generated < limit) and not self._stop:
                    wanted = (
                        chunk_size if limit is None else min(chunk_size, limit - self._generated)
                    )
                    chunk = self._take(wanted)
                    if chunk is None:
                        break
                    self._tick(chunk)
                    self._show(progress)
                    if rate > 0:
                        self._pace(started, rate)
                if not self._stop:
                    self._finish(progress)
            except KeyboardInterrupt:
                self._stop = True
            finally:
                if self._stop:
                    self.result.interrupted = True
                    log.info("interrupted: flushing what Kafka already accepted")
                self.result.elapsed_seconds = time.perf_counter() - started
                self._close(progress)
        return self.result

    def _tick(self, chunk: Block) -> None:
        times = self._event_times(chunk)
        seconds = seconds_of(times)
        self.truth.observe(chunk.start, times)
        event_keys, quoted = self._event_ids(chunk)
        values = feature_values(
            quoted, time_texts(times), chunk.features, self.stream.feature_names
        )
        self._latest_seconds = max(self._latest_seconds, float(seconds.max()))
        plan: Payload = {
            "key": _objects(event_keys),
            "quoted": _objects(quoted),
            "value": _objects(values),
            "index": chunk.indices,
            "seconds": seconds,
            "label": chunk.labels,
            "delay": chunk.label_delay,
            "withheld": chunk.label_withheld,
        }
        if len(chunk.jitter):
            self._held.push(seconds + chunk.jitter, plan)
            _, plan = self._held.pop_due(self._now_seconds())
        if plan:
            self._send_events(plan)
        self._release_labels()

    def _send_events(self, plan: Payload) -> None:
        self.sink.send(self.topics.features, plan["key"].tolist(), plan["value"].tolist())
        self.result.events_sent += len(plan["key"])
        if not self.plan.labels:
            return
        withheld = plan["withheld"].astype(bool)
        self.result.labels_withheld += int(withheld.sum())
        keep = ~withheld
        if self.plan.label_delay.unit == "events":
            due = plan["index"][keep] + np.round(plan["delay"][keep])
        else:
            due = plan["seconds"][keep] + plan["delay"][keep]
        waiting = {name: plan[name][keep] for name in ("index", "label", "seconds")}
        if self._uses_data_ids:  # generated ids are rebuilt from the index: less memory
            waiting.update(key=plan["key"][keep], quoted=plan["quoted"][keep])
        self._labels.push(due.astype(np.float64), waiting)

    def _release_labels(self, *, everything: bool = False) -> None:
        now = np.inf if everything else self._label_now()
        due, labels = self._labels.pop_due(now)
        if not len(due):
            return
        label_times = time_texts(self._label_times(due, labels["seconds"]))
        if self._uses_data_ids:
            keys, quoted = labels["key"].tolist(), labels["quoted"].tolist()
        else:
            keys, quoted = indexed_ids(self.options.run_id, labels["index"].tolist())
        values = label_values(quoted, labels["label"].tolist(), label_times)
        self.sink.send(self.topics.labels, keys, values)
        self.result.labels_sent += len(values)

    # --- clocks --------------------------------------------------------------------------
    def _event_times(self, chunk: Block) -> np.ndarray:
        if len(chunk.event_time):
            self._uses_data_time = True
            return chunk.event_time
        return self.clock.times(chunk.indices, rate=self.options.rate)

    def _event_ids(self, chunk: Block) -> tuple[list[bytes], list[bytes]]:
        if len(chunk.event_id):
            self._uses_data_ids = True
            return given_ids([str(value) for value in chunk.event_id.tolist()])
        return generated_ids(self.options.run_id, chunk.start, chunk.n)

    def _wall(self) -> bool:
        return self.clock.kind == "wall" and not self._uses_data_time

    def _now_seconds(self) -> float:
        return time.time() if self._wall() else self._latest_seconds

    def _label_now(self) -> float:
        if self.plan.label_delay.unit == "events":
            return float(self._generated - 1)
        return self._now_seconds()

    def _label_times(self, due: np.ndarray, event_seconds: np.ndarray) -> np.ndarray:
        """When each released label became known (never before its event)."""
        if self._wall():
            now = np.full(len(due), time.time())
        elif self.plan.label_delay.unit == "seconds":
            now = due
        elif self.clock.kind == "scenario" and not self._uses_data_time:
            now = seconds_of(self.clock.times(due.astype(np.int64)))
        else:
            now = np.full(len(due), self._latest_seconds)
        moments = np.maximum(now, event_seconds)
        return np.round(moments * 1_000_000).astype(np.int64).astype("datetime64[us]")

    # --- blocks, pacing, the end -----------------------------------------------------------
    def _take(self, wanted: int) -> Block | None:
        parts: list[Block] = []
        have = 0
        while have < wanted:
            if not self._pending:
                block = None if self._exhausted else self.stream.next_block()
                if block is None:
                    self._exhausted = True
                    break
                self._pending.append(block)
            block = self._pending[0]
            take = min(block.n, wanted - have)
            parts.append(block.slice(0, take))
            if take == block.n:
                self._pending.pop(0)
            else:
                self._pending[0] = block.slice(take, block.n)
            have += take
        if not parts:
            return None
        chunk = Block.concat(parts)
        self._generated += chunk.n
        return chunk

    def _pace(self, started: float, rate: float) -> None:
        # In short naps, so that a stop request is seen soon even at very low rates.
        ahead = started + self._generated / rate - time.perf_counter()
        while ahead > 0 and not self._stop:
            time.sleep(min(ahead, 0.05))
            ahead = started + self._generated / rate - time.perf_counter()

    def _finish(self, progress: RunProgress) -> None:
        """Send held-back events, then the labels: at once on event-time clocks, when due on
        the wall clock (waiting, with progress, unless interrupted)."""
        if len(self._held):
            _, plan = self._held.pop_all()
            self._send_events(plan)
        if self._wall() and self.plan.label_delay.unit == "seconds":
            while len(self._labels) and not self._stop:
                self._release_labels()
                self._show(progress)
                time.sleep(0.05)
            if self._stop:
                return
        self._release_labels(everything=True)

    def _show(self, progress: RunProgress, *, force: bool = False) -> None:
        result = self.result
        progress.update(result.events_sent, result.labels_sent, len(self._labels), force=force)

    def _close(self, progress: RunProgress) -> None:
        try:
            self.sink.flush(FINAL_FLUSH_SECONDS)
        finally:
            self.result.labels_pending = len(self._labels)
            self.result.events_held = len(self._held)
            self.result.delivery_failures = self.sink.failed
            self._show(progress, force=True)
            self.result.manifest = self._manifest()
            if self.options.manifest is not None:
                write_manifest(self.options.manifest, self.result.manifest)

    def _manifest(self) -> dict[str, Any]:
        result = self.result
        plan = self.plan
        clock = {"kind": "data"} if self._uses_data_time else self.clock.describe()
        return {
            "manifest_version": MANIFEST_VERSION,
            "run_id": result.run_id,
            **self.description,
            "seed": self.stream.seed,
            "topics": {"features": self.topics.features, "labels": self.topics.labels},
            "event_id_format": f"{result.run_id}-{{index}}",
            "clock": clock,
            "rate": self.options.rate,
            "features": list(self.stream.feature_names),
            "classes": list(self.stream.classes),
            "labels": {
                "enabled": plan.labels,
                "delay": plan.label_delay.describe(),
                "missing_share": plan.missing_share,
            },
            "jitter_seconds": plan.jitter_seconds,
            "drifts": self.truth.entries(result.events_sent),
            "pre_drift_events": self.truth.first_change,
            "counts": {
                "events_requested": self.options.events,
                "events_sent": result.events_sent,
                "labels_sent": result.labels_sent,
                "labels_withheld": result.labels_withheld,
                "labels_pending": result.labels_pending,
                "events_held": result.events_held,
                "delivery_failures": result.delivery_failures,
            },
            "interrupted": result.interrupted,
            "started_at": self._started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "elapsed_seconds": round(result.elapsed_seconds, 3),
        }


def _objects(items: list[bytes]) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array
