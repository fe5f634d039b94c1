"""Event sources: our vectorised Gaussian generator, river's synthetic generators, file replay.

A :class:`SourceSpec` names a source and its parameters; :func:`build_source` makes a seeded
instance (``pre_drift=True`` gives the source's initial regime, for bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from producers.exceptions import ScenarioError
from producers.sources.base import IntrinsicDrift, Rows, Source
from producers.sources.gaussian import GaussianSource
from producers.sources.replay import ColumnMapping, ReplaySource
from producers.sources.river_synth import RIVER_SOURCES, RiverSource

__all__ = [
    "SOURCE_NAMES",
    "ColumnMapping",
    "GaussianSource",
    "IntrinsicDrift",
    "ReplaySource",
    "RiverSource",
    "Rows",
    "Source",
    "SourceSpec",
    "build_source",
]

SOURCE_NAMES = ("gaussian", *RIVER_SOURCES, "replay")


@dataclass(frozen=True)
class SourceSpec:
    """A source by name with its parameters (``replay`` takes a :class:`ColumnMapping`)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    mapping: ColumnMapping | None = None


def build_source(spec: SourceSpec, seed: int, *, pre_drift: bool = False) -> Source:
    """A seeded source instance; unknown names and bad parameters raise ScenarioError."""
    if spec.name == "gaussian":
        try:
            return GaussianSource(seed, **spec.params)
        except TypeError as error:
            raise ScenarioError(f"gaussian source rejects its parameters: {error}") from None
    if spec.name in RIVER_SOURCES:
        return RiverSource(spec.name, seed, pre_drift=pre_drift, **spec.params)
    if spec.name == "replay":
        if spec.mapping is None:
            raise ScenarioError("the replay source needs a file and a column mapping")
        return ReplaySource(spec.mapping, seed)
    raise ScenarioError(f"unknown source {spec.name!r}; available: {', '.join(SOURCE_NAMES)}")
