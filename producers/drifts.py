"""Injected drifts with known change points: covariate shift, prior shift, concept change.

Each drift starts at an event index and is sudden (``width == 0``) or gradual (it ramps over
``width`` events); it stays until ``until`` (if given) and then reverts. They act on any
source. ``alpha`` is the drift's strength at each event index, 0 before and 1 once complete:

>>> spec = DriftSpec("covariate", start=10, width=4, features=("x0",), shift=1.0)
>>> spec.alpha(np.arange(8, 16)).tolist()
[0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
>>> spec.mode, spec.end
('gradual', 14)

- **covariate**: the listed features move by ``shift`` standard deviations and their spread
  scales by ``scale``; a relabelling source recomputes labels so P(y | x) is unchanged.
- **prior**: the share of ``target_class`` becomes ``share``; rows are drawn by class from the
  source, so P(x | y) is unchanged.
- **correlation**: the two ``features`` (jointly Gaussian in the source) move from the
  source's correlation to ``rho``; the second is rebuilt as ``rho_t * z_first + sqrt(1 -
  rho_t^2) * e`` from its own standardized noise ``e``, so both marginals stay exactly the
  source's and only how they move together changes (what the multivariate test is for).
- **concept**: labels follow concept number ``concept`` (a relabelling source swaps its label
  function; other sources rotate the classes); gradual means each row follows the new concept
  with probability ``alpha``, as river's ConceptDriftStream does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from producers.exceptions import ScenarioError
from producers.sources.base import ClassValue, Rows, Source

DriftKind = Literal["covariate", "prior", "concept", "correlation"]
DRIFT_KINDS: tuple[DriftKind, ...] = ("covariate", "prior", "concept", "correlation")


@dataclass(frozen=True)
class DriftSpec:
    """One injected drift; see the module docstring for what each kind does."""

    kind: DriftKind
    start: int
    width: int = 0
    until: int | None = None
    features: tuple[str, ...] = ()
    shift: float = 0.0
    scale: float = 1.0
    share: float = 0.8
    target_class: ClassValue | None = None
    concept: int = 1
    rho: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in DRIFT_KINDS:
            raise ScenarioError(f"unknown drift {self.kind!r}; kinds: {', '.join(DRIFT_KINDS)}")
        if self.start < 0 or self.width < 0:
            raise ScenarioError(f"{self.kind} drift needs start >= 0 and width >= 0")
        if self.until is not None and self.until <= self.end:
            raise ScenarioError(f"{self.kind} drift: until must come after start + width")
        if self.kind == "covariate" and not self.features:
            raise ScenarioError("a covariate drift needs features to shift")
        if self.kind == "covariate" and self.scale <= 0:
            raise ScenarioError("a covariate drift needs scale > 0")
        if self.kind == "prior" and not 0.0 < self.share < 1.0:
            raise ScenarioError("a prior drift needs 0 < share < 1")
        if self.kind == "correlation" and (
            len(self.features) != 2 or len(set(self.features)) != 2 or not -1 < self.rho < 1
        ):
            raise ScenarioError("a correlation drift needs two features and -1 < rho < 1")
        if self.kind == "concept" and self.concept < 1:
            raise ScenarioError("a concept drift needs concept >= 1 (0 is the original)")

    @property
    def mode(self) -> str:
        return "sudden" if self.width == 0 else "gradual"

    @property
    def end(self) -> int:
        """The first index at full strength."""
        return self.start + self.width

    def alpha(self, indices: np.ndarray) -> np.ndarray:
        if self.width == 0:
            strength = (indices >= self.start).astype(np.float64)
        else:
            strength = np.clip((indices - self.start) / self.width, 0.0, 1.0)
        if self.until is not None:
            strength[indices >= self.until] = 0.0
        return strength

    def active(self, first: int, last: int) -> bool:
        """Whether any index in ``first..last`` feels this drift."""
        return last >= self.start and (self.until is None or first < self.until)

    def check(self, source: Source) -> None:
        """Fail early, naming the problem, if this drift cannot act on ``source``."""
        if self.kind == "correlation" and source.feature_correlation(*self.features) is None:
            raise ScenarioError(
                f"correlation drift: source {source.name!r} does not know the correlation of "
                f"{', '.join(self.features)} (it needs jointly Gaussian features)"
            )
        if self.kind in ("covariate", "correlation"):
            stats = source.feature_stats()
            unknown = [f for f in self.features if f not in source.feature_names]
            if unknown:
                raise ScenarioError(
                    f"covariate drift: no feature {', '.join(map(repr, unknown))}; "
                    f"features are {', '.join(source.feature_names)}"
                )
            non_numeric = [f for f in self.features if f not in stats]
            if non_numeric:
                raise ScenarioError(f"{self.kind} drift: {', '.join(non_numeric)} is not numeric")
        if (
            self.kind == "prior"
            and self.target_class is not None
            and self.target_class not in source.classes
        ):
            raise ScenarioError(
                f"prior drift: class {self.target_class!r} is not one of {source.classes}"
            )

    def describe(self) -> dict[str, Any]:
        """The fields that matter for this kind, for the manifest and ``--list``."""
        wanted = {
            "covariate": ("features", "shift", "scale"),
            "prior": ("share", "target_class"),
            "concept": ("concept",),
            "correlation": ("features", "rho"),
        }[self.kind]
        values = asdict(self)
        params = {key: values[key] for key in wanted}
        if "features" in params:
            params["features"] = list(params["features"])
        return {"kind": self.kind, "mode": self.mode, "params": params}


def shift_features(
    rows: Rows, drifts: list[DriftSpec], indices: np.ndarray, stats: dict[str, tuple[float, float]]
) -> Rows:
    """Apply every covariate drift to ``rows`` (events ``indices``); returns new rows."""
    features = dict(rows.features)
    for drift in drifts:
        alpha = drift.alpha(indices)
        if not alpha.any():
            continue
        for name in drift.features:
            mean, sd = stats[name]
            values = features[name].astype(np.float64)
            scaled = values + alpha * (drift.scale - 1.0) * (values - mean)
            features[name] = scaled + alpha * drift.shift * sd
    return Rows(features, rows.labels, rows.latent, rows.event_time, rows.event_id)


def correlate_features(
    rows: Rows,
    drifts: list[DriftSpec],
    indices: np.ndarray,
    stats: dict[str, tuple[float, float]],
    source: Source,
) -> Rows:
    """Apply every correlation drift to ``rows`` (events ``indices``); returns new rows."""
    features = dict(rows.features)
    for drift in drifts:
        alpha = drift.alpha(indices)
        if not alpha.any():
            continue
        first, second = drift.features
        before = source.feature_correlation(first, second)
        assert before is not None  # checked when the stream was built
        (mean_a, sd_a), (mean_b, sd_b) = stats[first], stats[second]
        z_a = (features[first].astype(np.float64) - mean_a) / sd_a
        z_b = (features[second].astype(np.float64) - mean_b) / sd_b
        noise = (z_b - before * z_a) / np.sqrt(1.0 - before**2)
        rho = before + alpha * (drift.rho - before)
        features[second] = mean_b + sd_b * (rho * z_a + np.sqrt(1.0 - rho**2) * noise)
    return Rows(features, rows.labels, rows.latent, rows.event_time, rows.event_id)


def concepts(drifts: list[DriftSpec], indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which concept each event follows (0: the original); later drifts win where they overlap."""
    chosen = np.zeros(len(indices), dtype=np.int64)
    for drift in drifts:
        alpha = drift.alpha(indices)
        if not alpha.any():
            continue
        follows = rng.random(len(indices)) < alpha
        chosen[follows] = drift.concept
    return chosen


def rotate_classes(
    labels: np.ndarray, concept: np.ndarray, classes: tuple[ClassValue, ...]
) -> np.ndarray:
    """Concept change for sources that cannot relabel: class i becomes class (i + concept)."""
    if not concept.any():
        return labels
    lookup = {c: i for i, c in enumerate(classes)}
    position = np.array([lookup[c] for c in labels.tolist()], dtype=np.int64)
    rotated = np.asarray(classes, dtype=labels.dtype)[(position + concept) % len(classes)]
    return np.where(concept > 0, rotated, labels)


def target_shares(
    drifts: list[DriftSpec], indices: np.ndarray, base: float, target_class: ClassValue
) -> np.ndarray:
    """The wanted share of ``target_class`` at each event under the prior drifts."""
    share = np.full(len(indices), base)
    for drift in drifts:
        alpha = drift.alpha(indices)
        share = share + alpha * (drift.share - share)
    return share
