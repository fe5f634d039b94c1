"""What every event source offers to a scenario: seeded rows, and facts about its distribution."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from producers.exceptions import ScenarioError

ClassValue = int | str
Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class Rows:
    """Rows drawn from a source, before any injected drift.

    ``latent`` holds per-row randomness a relabelling source needs to recompute labels
    consistently (e.g. the label noise of the Gaussian source), so covariate shift keeps
    P(y | x) fixed. ``event_time`` and ``event_id`` come from data that carries its own.
    """

    features: Columns
    labels: np.ndarray
    latent: np.ndarray | None = None
    event_time: np.ndarray | None = None
    event_id: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.labels)

    def take(self, positions: np.ndarray) -> Rows:
        return Rows(
            features={name: column[positions] for name, column in self.features.items()},
            labels=self.labels[positions],
            latent=_pick(self.latent, positions),
            event_time=_pick(self.event_time, positions),
            event_id=_pick(self.event_id, positions),
        )

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        first = parts[0]
        return Rows(
            features={n: np.concatenate([p.features[n] for p in parts]) for n in first.features},
            labels=np.concatenate([p.labels for p in parts]),
            latent=_join([p.latent for p in parts]),
            event_time=_join([p.event_time for p in parts]),
            event_id=_join([p.event_id for p in parts]),
        )


@dataclass(frozen=True)
class IntrinsicDrift:
    """A drift that a source carries by itself (river's ConceptDriftStream, Hyperplane's
    incremental change), reported in the manifest like an injected one."""

    kind: str
    start_index: int
    end_index: int | None
    params: dict[str, Any] = field(default_factory=dict)


class Source(ABC):
    """A seeded, sequential stream of rows.

    ``relabels`` says whether labels can be recomputed from (possibly shifted) features under
    another concept; sources that cannot get concept changes as class swaps instead.
    ``separate_world`` says whether the structure of the problem (means, concepts) is fixed
    independently of the sample seed, so bootstrap may draw fresh rows with another seed.
    """

    name: str = "source"
    # Synthetic values are sent with float32 precision (7 significant digits): messages are
    # 30% shorter and quicker to print; replayed data keeps its exact values.
    emit_dtype: type[np.floating] = np.float32
    relabels: bool = False
    separate_world: bool = False
    feature_names: tuple[str, ...]
    classes: tuple[ClassValue, ...]

    @abstractmethod
    def draw(self, n: int) -> Rows:
        """The next ``n`` rows (fewer only when a finite source runs out)."""

    def relabel(self, rows: Rows, concept: np.ndarray) -> np.ndarray:
        raise ScenarioError(f"source {self.name!r} cannot relabel rows under another concept")

    @abstractmethod
    def feature_stats(self) -> dict[str, tuple[float, float]]:
        """Pre-drift mean and standard deviation of each numeric feature."""

    def feature_correlation(self, first: str, second: str) -> float | None:
        """Pre-drift correlation of two jointly Gaussian numeric features, or None when the
        source cannot say (a correlation drift needs it, to keep both marginals exact)."""
        return None

    def class_shares(self) -> dict[ClassValue, float]:
        """Pre-drift share of each class (for prior shift)."""
        return {c: 1.0 / len(self.classes) for c in self.classes}

    def intrinsic_drifts(self) -> list[IntrinsicDrift]:
        return []

    @property
    def length(self) -> int | None:
        """Rows available (None: endless)."""
        return None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


def numeric_stats(columns: Columns) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation of every numeric column (sd floored so shifts stay finite)."""
    stats = {}
    for name, column in columns.items():
        if np.issubdtype(column.dtype, np.number):
            values = column.astype(np.float64)
            sd = float(np.std(values))
            stats[name] = (float(np.mean(values)), sd if sd > 0 else 1.0)
    return stats


def shares(labels: np.ndarray, classes: tuple[ClassValue, ...]) -> dict[ClassValue, float]:
    total = max(len(labels), 1)
    return {c: float(np.sum(labels == c)) / total for c in classes}


def _pick(column: np.ndarray | None, positions: np.ndarray) -> np.ndarray | None:
    return None if column is None else column[positions]


def _join(columns: list[np.ndarray | None]) -> np.ndarray | None:
    present = [c for c in columns if c is not None]
    return np.concatenate(present) if present else None
