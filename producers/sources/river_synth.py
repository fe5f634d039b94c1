"""river's synthetic generators as sources: Agrawal, SEA, Hyperplane, RandomRBFDrift and
ConceptDriftStream (label-function changes with river's own sigmoid transition).

river draws one row per Python call, so these sources are slower than the Gaussian one (about
5,000 to 200,000 rows/s); they are here for realism and comparability with the literature.
Integer feature keys become ``x0, x1, ...``; boolean labels become 0/1.

>>> source = RiverSource("sea", seed=3)
>>> source.feature_names, source.classes
(('x0', 'x1', 'x2'), (0, 1))
>>> source.draw(5).labels.tolist()
[0, 1, 1, 1, 1]
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from river.datasets import synth

from producers.exceptions import ScenarioError
from producers.sources.base import ClassValue, IntrinsicDrift, Rows, Source, numeric_stats, shares

log = logging.getLogger(__name__)

CALIBRATION_ROWS = 2_000

_GENERATORS: dict[str, Any] = {
    "agrawal": synth.Agrawal,
    "sea": synth.SEA,
    "hyperplane": synth.Hyperplane,
    "rbf_drift": synth.RandomRBFDrift,
}
_DRIFT_SPEED = {"hyperplane": "mag_change", "rbf_drift": "change_speed"}
RIVER_SOURCES = (*_GENERATORS, "concept_drift_stream")


def _build(name: str, params: dict[str, Any], seed: int, *, pre_drift: bool) -> Any:
    params = dict(params)
    if name == "concept_drift_stream":
        return _concept_drift_stream(params, seed, pre_drift=pre_drift)
    if name not in _GENERATORS:
        raise ScenarioError(f"unknown river source {name!r}; available: {', '.join(RIVER_SOURCES)}")
    if pre_drift:  # the initial concept, held still
        params.pop(_DRIFT_SPEED.get(name, ""), None)
    if name == "rbf_drift":
        params.setdefault("seed_model", seed)
        params.setdefault("seed_sample", seed)
    else:
        params.setdefault("seed", seed)
    try:
        return _GENERATORS[name](**params)
    except (TypeError, ValueError) as error:
        raise ScenarioError(f"river source {name!r} rejects its parameters: {error}") from None


def _concept_drift_stream(params: dict[str, Any], seed: int, *, pre_drift: bool) -> Any:
    base = _build(
        str(params.pop("base", "agrawal")), _nested(params, "base"), seed, pre_drift=False
    )
    if pre_drift:
        return base
    drift_params = _nested(params, "drift") or {"classification_function": 2}
    drift = _build(str(params.pop("drift", "agrawal")), drift_params, seed + 1, pre_drift=False)
    position = int(params.pop("position", 5000))
    width = int(params.pop("width", 1000))
    # river computes exp(-4 (t - position) / width), which overflows a float before the change
    # when width is tiny compared to position; widen just enough and say so.
    least = math.ceil(4 * position / 700) + 1
    if width < least:
        log.warning("concept_drift_stream: width %d widened to %d (river overflows)", width, least)
        width = least
    if params:
        raise ScenarioError(f"concept_drift_stream does not know {', '.join(sorted(params))}")
    return synth.ConceptDriftStream(
        stream=base, drift_stream=drift, position=position, width=width, seed=seed
    )


def _nested(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    found = {key: params.pop(key) for key in list(params) if key.startswith(prefix + ".")}
    nested = params.pop(prefix + "_params", {}) or {}
    nested.update({key.split(".", 1)[1]: value for key, value in found.items()})
    return dict(nested)


class RiverSource(Source):
    """One river generator, read in blocks and turned into numpy columns."""

    def __init__(
        self, generator: str, seed: int = 0, *, pre_drift: bool = False, **params: Any
    ) -> None:
        self.name = generator
        self.params = params
        self.seed = seed
        self._generator = _build(generator, params, seed, pre_drift=pre_drift)
        self._rows: Iterator[tuple[dict[Any, Any], Any]] = iter(self._generator)
        calibration = _build(generator, params, seed, pre_drift=True)
        sample = _columns(list(itertools.islice(iter(calibration), CALIBRATION_ROWS)))
        self.feature_names = tuple(sample[0])
        self._stats = numeric_stats(sample[0])
        n_classes = int(getattr(self._generator, "n_classes", 2) or 2)
        self.classes: tuple[ClassValue, ...] = tuple(range(n_classes))
        self._shares = shares(sample[1], self.classes)

    def draw(self, n: int) -> Rows:
        features, labels = _columns(list(itertools.islice(self._rows, n)))
        return Rows(features=features, labels=labels)

    def feature_stats(self) -> dict[str, tuple[float, float]]:
        return dict(self._stats)

    def class_shares(self) -> dict[ClassValue, float]:
        return dict(self._shares)

    def intrinsic_drifts(self) -> list[IntrinsicDrift]:
        generator = self._generator
        if isinstance(generator, synth.ConceptDriftStream):
            position, width = int(generator.position), int(generator.width)
            return [
                IntrinsicDrift(
                    "concept",
                    max(position - width // 2, 0),
                    position + width // 2,
                    {"source": "river.ConceptDriftStream", "position": position, "width": width},
                )
            ]
        if self.name == "hyperplane" and float(self.params.get("mag_change", 0.0)) > 0:
            return [IntrinsicDrift("concept", 0, None, {"mode": "incremental", **self.params})]
        if self.name == "rbf_drift" and float(self.params.get("change_speed", 0.0)) > 0:
            return [IntrinsicDrift("covariate", 0, None, {"mode": "incremental", **self.params})]
        return []

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "river": True, **self.params}


def _columns(rows: list[tuple[dict[Any, Any], Any]]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    if not rows:
        return {}, np.zeros(0, dtype=np.int64)
    keys = list(rows[0][0])
    names = [f"x{key}" if isinstance(key, int) else str(key) for key in keys]
    matrix = np.array([[x[key] for key in keys] for x, _ in rows], dtype=np.float64)
    labels = np.array([int(y) for _, y in rows], dtype=np.int64)
    return {name: matrix[:, j] for j, name in enumerate(names)}, labels
