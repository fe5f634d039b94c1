"""The multivariate part of a reference profile: a PCA of the standardized numeric features and
the reference distribution of each row's reconstruction error (docs/architecture.md, "Drift
methodology").

A window whose features keep every marginal but change how they move together (a correlation
that flips) is invisible to the per-feature tests; it shows in the error of reconstructing each
standardized row from the top ``k`` principal components of the reference, because the
directions the reference barely used are used now. The PCA is fitted on one half of the
reference rows and the reference errors are measured on the other half, so that they are
out-of-sample exactly as a window's errors are (in-sample errors are biased low: the smallest
eigenvalues of a sample covariance underestimate the true ones).

Kept as plain numbers (mean, scale, components, the bins of the reference errors with their
counts and a sorted sample of them), so the stream reloads it from JSON without scikit-learn.

>>> rng = np.random.default_rng(0)
>>> z = rng.standard_normal((2000, 2))
>>> frame = np.column_stack([z[:, 0], 0.9 * z[:, 0] + 0.44 * z[:, 1], rng.standard_normal(2000)])
>>> pca = fit_pca(frame, variance=0.9)
>>> pca.n_components, len(pca.mean)
(2, 3)
>>> ReferencePca.from_dict(pca.to_dict()) == pca
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from centinela.exceptions import ProfileError

DEFAULT_VARIANCE = 0.9  # share of the reference's standardized variance the components keep


@dataclass(frozen=True)
class PcaProjection:
    """Standardize with ``mean``/``scale``, project on ``components`` (k rows), measure the
    squared residual: all a window summary needs (it travels in the summary's layout)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    components: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        p = len(self.mean)
        if p < 2 or len(self.scale) != p:
            raise ProfileError("a PCA needs at least two features, with a mean and scale each")
        if not 1 <= len(self.components) < p or any(len(c) != p for c in self.components):
            raise ProfileError("a PCA keeps between 1 and (features - 1) components")
        values = (*self.mean, *self.scale, *(v for c in self.components for v in c))
        if not all(np.isfinite(values)) or min(self.scale) <= 0:
            raise ProfileError("a PCA's numbers must be finite and its scales positive")

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.asarray(self.mean, dtype=np.float64),
            np.asarray(self.scale, dtype=np.float64),
            np.asarray(self.components, dtype=np.float64),
        )

    def errors(self, values: np.ndarray) -> np.ndarray:
        """Squared reconstruction error of each row of ``values`` (n x features), vectorised."""
        mean, scale, components = self._arrays
        z = (np.asarray(values, dtype=np.float64) - mean) / scale
        residual = z - (z @ components.T) @ components
        return np.einsum("ij,ij->i", residual, residual)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": list(self.mean),
            "scale": list(self.scale),
            "components": [list(c) for c in self.components],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PcaProjection:
        return cls(
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            components=tuple(tuple(float(v) for v in c) for c in data["components"]),
        )


@dataclass(frozen=True)
class ReferencePca:
    """The projection, and the reference's reconstruction errors: their histogram
    (``bin_edges``, ``reference_counts``) and a bounded sorted sample (``reference_errors``)."""

    projection: PcaProjection
    bin_edges: tuple[float, ...]
    reference_counts: tuple[int, ...]
    reference_errors: tuple[float, ...]
    variance: float = DEFAULT_VARIANCE

    def __post_init__(self) -> None:
        if len(self.reference_counts) != len(self.bin_edges) + 1 or not self.reference_errors:
            raise ProfileError("a PCA needs its reference errors' histogram and sample")
        if not all(np.isfinite((*self.bin_edges, *self.reference_errors))):
            raise ProfileError("a PCA's reference errors must be finite")

    @property
    def n_components(self) -> int:
        return len(self.projection.components)

    @property
    def mean(self) -> tuple[float, ...]:
        return self.projection.mean

    @cached_property
    def sorted_errors(self) -> np.ndarray:
        return np.sort(np.asarray(self.reference_errors, dtype=np.float64))

    def errors(self, values: np.ndarray) -> np.ndarray:
        return self.projection.errors(values)

    def error_counts(self, errors: np.ndarray) -> np.ndarray:
        """Histogram of errors on the reference's bins."""
        codes = np.searchsorted(np.asarray(self.bin_edges), errors, side="left")
        return np.bincount(codes, minlength=len(self.bin_edges) + 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "pca_reconstruction",
            "variance": self.variance,
            **self.projection.to_dict(),
            "bin_edges": list(self.bin_edges),
            "reference_counts": list(self.reference_counts),
            "reference_errors": list(self.reference_errors),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferencePca:
        if data.get("method") != "pca_reconstruction":
            raise ProfileError(f"unknown multivariate method {data.get('method')!r}")
        return cls(
            projection=PcaProjection.from_dict(data),
            bin_edges=tuple(float(v) for v in data["bin_edges"]),
            reference_counts=tuple(int(v) for v in data["reference_counts"]),
            reference_errors=tuple(float(v) for v in data["reference_errors"]),
            variance=float(data.get("variance", DEFAULT_VARIANCE)),
        )


def fit_pca(
    values: np.ndarray,
    *,
    variance: float = DEFAULT_VARIANCE,
    sample_size: int = 10_000,
    n_bins: int = 10,
    seed: int = 0,
) -> ReferencePca | None:
    """The PCA of the finite rows of ``values`` (n x features), or None when it cannot say
    anything (fewer than two features or 20 rows, or every kept component would be needed)."""
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        return None
    matrix = matrix[np.all(np.isfinite(matrix), axis=1)]
    if matrix.shape[0] < 20:
        return None
    order = np.random.default_rng([seed, 0x9CA]).permutation(matrix.shape[0])
    fit_rows, test_rows = matrix[order[::2]], matrix[order[1::2]]
    mean = fit_rows.mean(axis=0)
    scale = fit_rows.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (fit_rows - mean) / scale
    _, singular, vt = np.linalg.svd(z, full_matrices=False)
    explained = singular**2 / max(float(np.sum(singular**2)), np.finfo(np.float64).tiny)
    k = int(np.searchsorted(np.cumsum(explained), variance) + 1)
    k = min(k, matrix.shape[1] - 1)
    components = vt[:k]
    signs = np.where(components[np.arange(k), np.abs(components).argmax(axis=1)] < 0, -1.0, 1.0)
    components = components * signs[:, None]  # a deterministic sign per component
    projection = PcaProjection(
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        components=tuple(tuple(float(v) for v in c) for c in components),
    )
    errors = projection.errors(test_rows)
    if errors.size > sample_size:
        errors = np.random.default_rng([seed, 0x9CB]).choice(errors, sample_size, replace=False)
    errors = np.sort(errors)
    edges = np.unique(np.quantile(errors, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, errors, side="left"), minlength=edges.size + 1)
    return ReferencePca(
        projection=projection,
        bin_edges=tuple(float(e) for e in edges),
        reference_counts=tuple(int(c) for c in counts),
        reference_errors=tuple(float(e) for e in errors),
        variance=variance,
    )
