"""The reference profile of a model version: what "no drift" looks like (docs/architecture.md,
"Drift methodology").

Built once when a model is trained, logged as the artifact :data:`PROFILE_ARTIFACT` of the
model's run, and loaded by the stream with the model. It holds, per feature, the kind, the
quantile bin edges (numeric) or the category set (categorical) with the reference histogram on
them, a fixed-size reference sample for the exact tests (KS, Wasserstein), the distribution of
predicted classes, and the baseline metrics on validation data with the counts they come from
(``baseline_rows`` labeled rows, ``baseline_errors`` of them misclassified), so that the
stream's error-rate test can treat the baseline as the estimate it is. A profile written before
the counts existed reads with both ``None``.

Given labels and probabilities, the profile also holds a :class:`Calibration`: an isotonic map
from the model's probability to how often it is right on the reference rows, stored as plain
numbers (the map's knots), which the stream uses to estimate performance before labels arrive
(:mod:`centinela.drift.estimation`; docs/architecture.md, "Performance before labels"). A binary
model's positive-class probability is calibrated to the positive class; a multiclass model's
top-class (predicted-class) probability to being correct. A profile written before calibration
existed reads with ``calibration`` None (the estimate then uses the raw probabilities).

Numeric bins are ``(-inf, e0], (e0, e1], ..., (e_last, inf)`` for the inner edges ``e``: a value
``x`` falls in bin ``searchsorted(edges, x, side="left")``.

>>> import pandas as pd
>>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "colour": ["red", "blue", "red", "red"]})
>>> profile = build_profile(frame, [0, 1, 1, 0], classes=[0, 1], n_bins=2)
>>> profile.spec("x").bin_edges, profile.spec("x").reference_counts
((1.5,), (2, 2))
>>> profile.spec("colour").categories, profile.spec("colour").reference_counts
(('blue', 'red'), (1, 3))
>>> profile.baseline_rows, profile.baseline_errors  # no labels given: no baseline
(None, None)
>>> ReferenceProfile.from_json(profile.to_json()) == profile
True
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from centinela.exceptions import ProfileError
from centinela.models.calibration import Calibration, fit_calibration, plain_value
from centinela.models.pca import ReferencePca, fit_pca

log = logging.getLogger(__name__)

PROFILE_ARTIFACT = "reference_profile.json"
PROFILE_FORMAT_VERSION = 1
MAX_NUMERIC_BINS = 255  # window summaries store bin codes as uint8

FeatureKind = Literal["numeric", "categorical"]
ClassValue = str | int


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of the reference: its kind, its bins or categories, its histogram on them."""

    name: str
    kind: FeatureKind
    bin_edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    reference_counts: tuple[int, ...] = ()

    @property
    def n_bins(self) -> int:
        """Number of histogram cells: bins for numerics, categories for categoricals."""
        return len(self.bin_edges) + 1 if self.kind == "numeric" else len(self.categories)


@dataclass(frozen=True)
class ReferenceProfile:
    """Everything the drift tests compare a window against; immutable and JSON round-trippable."""

    features: tuple[FeatureSpec, ...]
    classes: tuple[ClassValue, ...]
    reference_sample: dict[str, list[float | str]]
    prediction_counts: dict[str, int]
    baseline_metrics: dict[str, float]
    n_rows: int
    baseline_rows: int | None = None  # labeled rows the baseline metrics were measured on
    baseline_errors: int | None = None  # how many of them the model got wrong
    calibration: Calibration | None = None  # of the probabilities, on the baseline's rows
    pca: ReferencePca | None = None  # of the numeric features, for the multivariate test
    _index: dict[str, FeatureSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {spec.name: spec for spec in self.features})
        if len(self._index) != len(self.features):
            raise ProfileError("feature names in a profile must be unique")
        if (self.baseline_rows is None) != (self.baseline_errors is None):
            raise ProfileError("a profile's baseline rows and errors come together")
        if self.baseline_rows is not None and not (
            0 <= (self.baseline_errors or 0) <= self.baseline_rows
        ):
            raise ProfileError(
                f"baseline errors {self.baseline_errors} out of {self.baseline_rows} rows"
            )

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.features)

    @property
    def numeric_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.features if spec.kind == "numeric")

    @property
    def categorical_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.features if spec.kind == "categorical")

    def spec(self, name: str) -> FeatureSpec:
        try:
            return self._index[name]
        except KeyError:
            raise ProfileError(f"feature {name!r} is not in the reference profile") from None

    @cached_property
    def sorted_samples(self) -> dict[str, np.ndarray]:
        """The numeric reference samples, sorted once per profile (the exact tests reuse them)."""
        return {
            name: np.sort(np.asarray(self.reference_sample.get(name, ()), dtype=np.float64))
            for name in self.numeric_names
        }

    def to_json(self) -> str:
        return json.dumps(
            {
                "format_version": PROFILE_FORMAT_VERSION,
                "n_rows": self.n_rows,
                "classes": list(self.classes),
                "features": [
                    {
                        "name": spec.name,
                        "kind": spec.kind,
                        "bin_edges": list(spec.bin_edges),
                        "categories": list(spec.categories),
                        "reference_counts": list(spec.reference_counts),
                    }
                    for spec in self.features
                ],
                "reference_sample": self.reference_sample,
                "prediction_counts": self.prediction_counts,
                "baseline_metrics": self.baseline_metrics,
                "baseline_rows": self.baseline_rows,
                "baseline_errors": self.baseline_errors,
                "calibration": None if self.calibration is None else self.calibration.to_dict(),
                "multivariate": None if self.pca is None else self.pca.to_dict(),
            },
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ReferenceProfile:
        try:
            data = json.loads(text)
            if data.get("format_version") != PROFILE_FORMAT_VERSION:
                raise ProfileError(
                    f"unsupported reference profile format {data.get('format_version')!r}"
                )
            return cls(
                features=tuple(_spec_from_dict(item) for item in data["features"]),
                classes=tuple(data["classes"]),
                reference_sample={str(k): list(v) for k, v in data["reference_sample"].items()},
                prediction_counts={str(k): int(v) for k, v in data["prediction_counts"].items()},
                baseline_metrics={str(k): float(v) for k, v in data["baseline_metrics"].items()},
                n_rows=int(data["n_rows"]),
                baseline_rows=_optional_int(data.get("baseline_rows")),
                baseline_errors=_optional_int(data.get("baseline_errors")),
                calibration=_optional_calibration(data.get("calibration")),
                pca=None
                if data.get("multivariate") is None
                else ReferencePca.from_dict(data["multivariate"]),
            )
        except ProfileError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ProfileError(f"malformed reference profile: {error!r}") from error


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _optional_calibration(value: Any) -> Calibration | None:
    return None if value is None else Calibration.from_dict(value)


def _spec_from_dict(item: Mapping[str, Any]) -> FeatureSpec:
    kind = item["kind"]
    if kind not in ("numeric", "categorical"):
        raise ProfileError(f"feature {item['name']!r} has unknown kind {kind!r}")
    return FeatureSpec(
        name=str(item["name"]),
        kind=kind,
        bin_edges=tuple(float(v) for v in item.get("bin_edges", ())),
        categories=tuple(str(v) for v in item.get("categories", ())),
        reference_counts=tuple(int(v) for v in item.get("reference_counts", ())),
    )


def feature_kind(series: pd.Series) -> FeatureKind:
    """Numeric dtypes (not bool) are numeric; everything else is categorical."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    return "numeric" if pd.api.types.is_numeric_dtype(dtype) else "categorical"


def build_profile(
    features: pd.DataFrame,
    predicted: Sequence[Any] | np.ndarray,
    *,
    classes: Sequence[Any],
    labels: Sequence[Any] | np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    sample_size: int = 10_000,
    n_bins: int = 10,
    seed: int = 0,
    multivariate: bool = True,
) -> ReferenceProfile:
    """Profile reference data (and, given labels, the model's baseline metrics on it, with
    ``baseline_rows`` and ``baseline_errors``; given probabilities too, their calibration).

    ``probabilities`` has one column per class in ``classes`` order (``predict_proba``).
    The reference sample keeps the same ``sample_size`` rows for every feature, drawn with
    ``seed``, so that profiles are reproducible. With ``multivariate`` (and at least two numeric
    features), a PCA of the numeric features for the multivariate test
    (:mod:`centinela.models.pca`).
    """
    n_rows = len(features)
    if n_rows == 0:
        raise ProfileError("cannot build a reference profile from no rows")
    if not 2 <= n_bins <= MAX_NUMERIC_BINS:
        raise ProfileError(f"n_bins must be in [2, {MAX_NUMERIC_BINS}], got {n_bins}")
    class_values = tuple(plain_value(c) for c in classes)
    predicted_arr = np.asarray(predicted)
    if len(predicted_arr) != n_rows:
        raise ProfileError(f"{len(predicted_arr)} predictions for {n_rows} rows")
    rows = _sample_rows(n_rows, sample_size, seed)
    specs: list[FeatureSpec] = []
    sample: dict[str, list[float | str]] = {}
    for name in features.columns:
        column = features[name]
        spec, values = _profile_column(str(name), column, n_bins)
        specs.append(spec)
        sampled = values.iloc[rows] if rows is not None else values
        if spec.kind == "numeric":
            finite = sampled.to_numpy(dtype=np.float64)
            sample[spec.name] = finite[np.isfinite(finite)].tolist()
        else:
            sample[spec.name] = [str(v) for v in sampled.dropna()]
    return ReferenceProfile(
        features=tuple(specs),
        classes=class_values,
        reference_sample=sample,
        prediction_counts=_prediction_counts(predicted_arr, class_values),
        baseline_metrics=baseline_metrics(labels, predicted_arr, probabilities, class_values),
        n_rows=n_rows,
        baseline_rows=None if labels is None else n_rows,
        baseline_errors=None if labels is None else count_errors(labels, predicted_arr),
        calibration=None
        if labels is None or probabilities is None
        else fit_calibration(labels, predicted_arr, probabilities, class_values),
        pca=_fit_pca(features, specs, sample_size, n_bins, seed) if multivariate else None,
    )


def _fit_pca(
    features: pd.DataFrame, specs: list[FeatureSpec], sample_size: int, n_bins: int, seed: int
) -> ReferencePca | None:
    numeric = [
        column
        for column, spec in zip(features.columns, specs, strict=True)
        if spec.kind == "numeric"
    ]
    if len(numeric) < 2:
        return None
    values = np.column_stack([features[column].to_numpy(dtype=np.float64) for column in numeric])
    return fit_pca(values, sample_size=sample_size, n_bins=n_bins, seed=seed)


def _sample_rows(n_rows: int, sample_size: int, seed: int) -> np.ndarray | None:
    if n_rows <= sample_size:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=sample_size, replace=False))


def _profile_column(name: str, column: pd.Series, n_bins: int) -> tuple[FeatureSpec, pd.Series]:
    if feature_kind(column) == "numeric":
        values = column.to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            raise ProfileError(f"numeric feature {name!r} has no finite values")
        quantiles = np.quantile(finite, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
        edges = np.unique(quantiles)  # discrete features collapse duplicate edges
        codes = np.searchsorted(edges, finite, side="left")
        counts = np.bincount(codes, minlength=edges.size + 1)
        spec = FeatureSpec(
            name=name,
            kind="numeric",
            bin_edges=tuple(float(e) for e in edges),
            reference_counts=tuple(int(c) for c in counts),
        )
        return spec, column
    as_text = column.dropna().astype(str)
    value_counts = as_text.value_counts()
    categories = tuple(sorted(str(c) for c in value_counts.index))
    spec = FeatureSpec(
        name=name,
        kind="categorical",
        categories=categories,
        reference_counts=tuple(int(value_counts[c]) for c in categories),
    )
    return spec, column.where(column.isna(), column.astype(str))


def _prediction_counts(predicted: np.ndarray, classes: tuple[ClassValue, ...]) -> dict[str, int]:
    counts = {str(c): 0 for c in classes}
    keys, tallies = np.unique(
        np.asarray([str(plain_value(p)) for p in predicted]), return_counts=True
    )
    for key, tally in zip(keys.tolist(), tallies.tolist(), strict=True):
        if key not in counts:
            raise ProfileError(f"predicted class {key!r} is not one of the classes {classes}")
        counts[key] = int(tally)
    return counts


def count_errors(labels: Sequence[Any] | np.ndarray, predicted: Sequence[Any] | np.ndarray) -> int:
    """How many predictions differ from their labels (compared as plain values)."""
    y_true = [plain_value(v) for v in labels]
    y_pred = [plain_value(v) for v in predicted]
    if len(y_true) != len(y_pred):
        raise ProfileError(f"{len(y_pred)} predictions for {len(y_true)} labels")
    return sum(1 for t, p in zip(y_true, y_pred, strict=True) if t != p)


def baseline_metrics(
    labels: Sequence[Any] | np.ndarray | None,
    predicted: np.ndarray,
    probabilities: np.ndarray | None,
    classes: tuple[ClassValue, ...],
) -> dict[str, float]:
    """Accuracy and F1 (binary: positive class ``classes[1]``; else macro), log loss and ROC AUC
    (binary) when probabilities are given. Empty without labels."""
    if labels is None:
        return {}
    from sklearn import metrics  # imported lazily: only the trainer side needs it

    y_true = np.asarray([plain_value(v) for v in labels])
    y_pred = np.asarray([plain_value(v) for v in predicted])
    class_list = list(classes)
    binary = len(class_list) == 2
    result = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "f1": float(
            metrics.f1_score(y_true, y_pred, labels=class_list, pos_label=class_list[1])
            if binary
            else metrics.f1_score(y_true, y_pred, labels=class_list, average="macro")
        ),
    }
    if probabilities is not None:
        proba = np.asarray(probabilities, dtype=np.float64)
        # by hand: scikit-learn's log_loss takes the columns in sorted label order, not in
        # ``classes`` order (predict_proba's), which differ for classes like ["lo", "mid", "hi"]
        position = {str(c): i for i, c in enumerate(class_list)}
        index = np.array([position[str(v)] for v in y_true.tolist()])
        eps = np.finfo(np.float64).eps
        chosen = np.clip(proba[np.arange(index.size), index], eps, 1 - eps)
        result["log_loss"] = float(np.mean(-np.log(chosen)))
        if binary and len(set(y_true.tolist())) == 2:
            positive = (y_true == class_list[1]).astype(int)
            result["roc_auc"] = float(metrics.roc_auc_score(positive, proba[:, 1]))
    return result
