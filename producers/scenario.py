"""A scenario is a source plus injected drifts; its stream yields seeded, index-aligned blocks.

Every block holds :data:`BLOCK_SIZE` consecutive events and draws its randomness (drift mixing,
label delays, missing labels, jitter) from generators seeded by ``(seed, block number)``, so
the same seed gives the same events whatever the rate or the runner's slicing.

>>> from producers.catalogue import get_scenario
>>> stream = ScenarioStream(get_scenario("covariate-sudden"), seed=1)
>>> block = stream.next_block()
>>> block.start, block.n, len(block.features)
(0, 1000, 20)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from producers.block import Block
from producers.delays import LabelDelay
from producers.drifts import (
    DriftSpec,
    concepts,
    correlate_features,
    rotate_classes,
    shift_features,
    target_shares,
)
from producers.exceptions import ScenarioError
from producers.sources import Rows, Source, SourceSpec, build_source

log = logging.getLogger(__name__)

BLOCK_SIZE = 1_000
BOOTSTRAP_SEED_OFFSET = 1_000_003  # bootstrap draws other rows of the same world
_POOL_CAP = 50 * BLOCK_SIZE


@dataclass(frozen=True)
class Scenario:
    """A named recipe: which source, which drifts, how many events by default."""

    name: str
    description: str
    source: SourceSpec
    drifts: tuple[DriftSpec, ...] = ()
    default_events: int = 40_000

    def with_drifts(self, extra: tuple[DriftSpec, ...]) -> Scenario:
        return replace(self, drifts=(*self.drifts, *extra))

    @property
    def first_change(self) -> int | None:
        starts = [d.start for d in self.drifts]
        return min(starts) if starts else None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "source": {"name": self.source.name, **self.source.params},
            "drifts": [
                {**d.describe(), "start_index": d.start, "end_index": d.end, "until": d.until}
                for d in self.drifts
            ],
            "default_events": self.default_events,
        }


@dataclass(frozen=True)
class DeliveryPlan:
    """How labels and events are delivered: label delay, labels never sent, send jitter."""

    label_delay: LabelDelay = field(default_factory=LabelDelay)
    missing_share: float = 0.0
    jitter_seconds: float = 0.0
    labels: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.missing_share <= 1.0:
            raise ScenarioError("the share of missing labels must be between 0 and 1")
        if self.jitter_seconds < 0:
            raise ScenarioError("jitter must be >= 0 seconds")


class ScenarioStream:
    """The events of one scenario run, block by block."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        plan: DeliveryPlan | None = None,
        *,
        pre_drift: bool = False,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.plan = plan or DeliveryPlan()
        self.source: Source = build_source(scenario.source, seed, pre_drift=pre_drift)
        self.drifts = [] if pre_drift else list(scenario.drifts)
        for drift in self.drifts:
            drift.check(self.source)
        self._covariate = [d for d in self.drifts if d.kind == "covariate"]
        self._concept = [d for d in self.drifts if d.kind == "concept"]
        self._prior = [d for d in self.drifts if d.kind == "prior"]
        self._correlation = [d for d in self.drifts if d.kind == "correlation"]
        self._prior_class = self._check_prior()
        moving = self._covariate or self._correlation
        self._stats = self.source.feature_stats() if moving else {}
        self._next = 0
        self._block_no = 0
        self._pool: dict[bool, Rows | None] = {True: None, False: None}

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.source.feature_names

    @property
    def classes(self) -> tuple[Any, ...]:
        return self.source.classes

    def next_block(self) -> Block | None:
        """The next block of events, or None once a finite source is exhausted."""
        start = self._next
        indices = np.arange(start, start + BLOCK_SIZE, dtype=np.int64)
        mixing = np.random.default_rng([self.seed, 0xD1F7, self._block_no])
        prior = [d for d in self._prior if d.active(start, start + BLOCK_SIZE - 1)]
        rows = (
            self._draw_by_class(indices, prior, mixing) if prior else self.source.draw(BLOCK_SIZE)
        )
        if rows.n == 0:
            return None
        indices = indices[: rows.n]
        rows = self._inject(rows, indices, mixing)
        block = self._plan(rows, start)
        self._next += rows.n
        self._block_no += 1
        return block

    def _inject(self, rows: Rows, indices: np.ndarray, rng: np.random.Generator) -> Rows:
        first, last = int(indices[0]), int(indices[-1])
        covariate = [d for d in self._covariate if d.active(first, last)]
        concept_drifts = [d for d in self._concept if d.active(first, last)]
        correlation = [d for d in self._correlation if d.active(first, last)]
        if covariate:
            rows = shift_features(rows, covariate, indices, self._stats)
        if correlation:
            rows = correlate_features(rows, correlation, indices, self._stats, self.source)
        concept = concepts(concept_drifts, indices, rng)
        if not covariate and not correlation and not concept.any():
            return rows
        if self.source.relabels:
            labels = self.source.relabel(rows, concept)
        else:
            labels = rotate_classes(rows.labels, concept, self.source.classes)
        return Rows(rows.features, labels, rows.latent, rows.event_time, rows.event_id)

    def _plan(self, rows: Rows, start: int) -> Block:
        plan = self.plan
        rng = np.random.default_rng([self.seed, 0x1A8E1, self._block_no])
        n = rows.n
        delay = plan.label_delay.sample(rng, n)
        withheld = rng.random(n) < plan.missing_share if plan.missing_share else np.zeros(n, bool)
        jitter = rng.uniform(0.0, plan.jitter_seconds, n) if plan.jitter_seconds else np.zeros(0)
        emitted = {
            name: column.astype(self.source.emit_dtype) if column.dtype.kind == "f" else column
            for name, column in rows.features.items()
        }
        return Block(
            start=start,
            features=emitted,
            labels=rows.labels,
            label_delay=delay,
            label_withheld=withheld,
            jitter=jitter,
            event_time=rows.event_time if rows.event_time is not None else np.zeros(0),
            event_id=rows.event_id if rows.event_id is not None else np.zeros(0),
        )

    def _check_prior(self) -> Any:
        if not self._prior:
            return None
        classes = self.source.classes
        targets = {
            d.target_class if d.target_class is not None else classes[-1] for d in self._prior
        }
        if len(targets) > 1:
            raise ScenarioError("all prior drifts of a scenario must target the same class")
        return targets.pop()

    def _draw_by_class(
        self, indices: np.ndarray, drifts: list[DriftSpec], rng: np.random.Generator
    ) -> Rows:
        """Rows whose class follows the wanted shares, drawn by class from the source so that
        P(x | y) stays the source's own."""
        target = self._prior_class
        base = self.source.class_shares().get(target, 0.5)
        wanted = rng.random(len(indices)) < target_shares(drifts, indices, base, target)
        need = {True: int(wanted.sum()), False: int((~wanted).sum())}
        while any(self._pooled(side) < need[side] for side in (True, False)):
            drawn = self.source.draw(2 * BLOCK_SIZE)
            if drawn.n == 0:  # a finite source ran dry: send what the pools allow
                break
            is_target = drawn.labels == target
            for side in (True, False):
                part = drawn.take(np.flatnonzero(is_target == side))
                current = self._pool[side]
                self._pool[side] = part if current is None else Rows.concat([current, part])
        k = min(need[True], self._pooled(True))
        m = min(need[False], self._pooled(False))
        if k + m < len(indices):  # keep the class pattern of the rows we can fill
            positions = np.flatnonzero(wanted)[:k].tolist() + np.flatnonzero(~wanted)[:m].tolist()
            wanted = wanted[np.sort(positions)]
        chosen = Rows.concat([self._take_pool(True, k), self._take_pool(False, m)])
        order = np.empty(k + m, dtype=np.int64)
        order[np.flatnonzero(wanted)] = np.arange(k)
        order[np.flatnonzero(~wanted)] = np.arange(k, k + m)
        return chosen.take(order)

    def _pooled(self, side: bool) -> int:
        pool = self._pool[side]
        return 0 if pool is None else pool.n

    def _take_pool(self, side: bool, count: int) -> Rows:
        pool = self._pool[side]
        assert pool is not None or count == 0
        if pool is None:
            return Rows({n: np.zeros(0) for n in self.feature_names}, np.zeros(0, np.int64))
        taken = pool.take(np.arange(count))
        rest = pool.take(np.arange(count, min(pool.n, count + _POOL_CAP)))
        self._pool[side] = rest
        return taken


def pre_drift_frame(scenario: Scenario, rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``rows`` rows of the scenario's regime before any drift, for training the first champion.

    Sources whose world is independent of the sample seed get a different seed, so the
    champion is trained on fresh draws of the same world, not on the events that will be sent.
    """
    stream = ScenarioStream(scenario, seed, pre_drift=True)
    if stream.source.separate_world:
        stream = ScenarioStream(scenario, seed + BOOTSTRAP_SEED_OFFSET, pre_drift=True)
    blocks: list[Block] = []
    total = 0
    while total < rows:
        block = stream.next_block()
        if block is None:
            break
        blocks.append(block)
        total += block.n
    if not blocks:
        raise ScenarioError(f"scenario {scenario.name!r} produced no rows to train on")
    joined = Block.concat(blocks).slice(0, rows)
    # Same values as the events carry, as float64: what the stream decodes from JSON.
    frame = pd.DataFrame(
        {
            name: column.astype(np.float64) if column.dtype.kind == "f" else column
            for name, column in ((n, joined.features[n]) for n in stream.feature_names)
        }
    )
    return frame, joined.labels
