"""How a window summary encodes events: the profile's cells, flattened into small integer codes.

A numeric value becomes its reference bin (``searchsorted(edges, x, "left")``), a category its
index in the reference categories, or ``len(categories)`` when the reference never saw it (the
"unseen" cell); a class its index in the model's classes. The layout travels with a summary
(``to_dict``), so a summary read back from Kafka can keep adding events without the profile.

>>> import pandas as pd
>>> from centinela.models.profile import build_profile
>>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "b", "a", "a"]})
>>> profile = build_profile(frame, [0, 1, 1, 0], classes=[0, 1], n_bins=2)
>>> layout = SummaryLayout.from_profile(profile)
>>> layout.encode_feature(1, pd.Series(["b", "zzz"])).tolist()
[1, 2]
>>> layout.n_cells
(2, 3)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from centinela.drift.exceptions import DriftError, UnknownClassError
from centinela.models.pca import PcaProjection
from centinela.models.profile import ReferenceProfile

MAX_CELLS = np.iinfo(np.uint16).max


@dataclass(frozen=True)
class SummaryLayout:
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    bin_edges: tuple[tuple[float, ...], ...]
    categories: tuple[tuple[str, ...], ...]
    classes: tuple[str | int, ...]
    pca: PcaProjection | None = None  # the profile's, to measure each event's reconstruction error
    _class_index: dict[str, int] = field(init=False, repr=False, compare=False)
    # Integer classes, sorted, and where each stands in ``classes`` (None unless all are ints):
    # a search in a few classes, not a pandas Index, whose set-up per call is most of a small
    # batch's cost.
    _int_classes: tuple[np.ndarray, np.ndarray] | None = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_class_index", {str(c): i for i, c in enumerate(self.classes)})
        ints = all(isinstance(c, int) for c in self.classes)
        if ints and self.classes:
            values = np.asarray(self.classes, dtype=np.int64)
            order = np.argsort(values, kind="stable")
            object.__setattr__(self, "_int_classes", (values[order], order))
        else:
            object.__setattr__(self, "_int_classes", None)
        if any(n >= MAX_CELLS for n in self.n_cells):
            raise DriftError(f"a feature has more than {MAX_CELLS - 1} categories")

    @classmethod
    def from_profile(cls, profile: ReferenceProfile) -> SummaryLayout:
        return cls(
            names=profile.feature_names,
            kinds=tuple(spec.kind for spec in profile.features),
            bin_edges=tuple(spec.bin_edges for spec in profile.features),
            categories=tuple(spec.categories for spec in profile.features),
            classes=profile.classes,
            pca=None if profile.pca is None else profile.pca.projection,
        )

    @cached_property
    def numeric(self) -> tuple[int, ...]:
        """Positions of the numeric features."""
        return tuple(i for i, kind in enumerate(self.kinds) if kind == "numeric")

    @cached_property
    def n_cells(self) -> tuple[int, ...]:
        """Histogram cells per feature: bins, or categories plus the unseen cell."""
        return tuple(
            len(edges) + 1 if kind == "numeric" else len(cats) + 1
            for kind, edges, cats in zip(self.kinds, self.bin_edges, self.categories, strict=True)
        )

    def numeric_values(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """The numeric features of the selected rows as an (n, n_numeric) float64 matrix."""
        columns = [self._column(features, self.names[i]) for i in self.numeric]
        try:
            values = (
                np.column_stack([np.asarray(c.to_numpy()[rows], dtype=np.float64) for c in columns])
                if columns
                else np.empty((rows.size, 0))
            )
        except (TypeError, ValueError) as error:
            raise DriftError(f"a numeric feature holds a non-number: {error}") from error
        if not np.all(np.isfinite(values)):
            raise DriftError("numeric features must be finite (NaN/inf go to the dead letter)")
        return values

    def encode(self, features: pd.DataFrame, rows: np.ndarray, numeric: np.ndarray) -> np.ndarray:
        """Cell codes of the selected rows, (n, n_features) uint16; ``numeric`` from above."""
        codes = np.empty((rows.size, len(self.names)), dtype=np.uint16)
        numeric_at = {feature: k for k, feature in enumerate(self.numeric)}
        for i, name in enumerate(self.names):
            if i in numeric_at:
                edges = np.asarray(self.bin_edges[i], dtype=np.float64)
                codes[:, i] = np.searchsorted(edges, numeric[:, numeric_at[i]], side="left")
            else:
                column = self._column(features, name)
                codes[:, i] = self.encode_feature(i, column.iloc[rows])
        return codes

    def encode_feature(self, position: int, values: pd.Series) -> np.ndarray:
        """Category codes of one categorical feature; unseen values get the last cell."""
        cats = self.categories[position]
        codes = pd.Index(cats, dtype=object).get_indexer(pd.Index(values.astype(str)))
        return np.where(codes < 0, len(cats), codes).astype(np.uint16)

    def class_codes(
        self, values: Iterable[Any], *, what: str, unknown: int | None = None
    ) -> np.ndarray:
        """Class indices of predictions or labels; an unknown class is an error, or, given
        ``unknown``, has that code."""
        array = np.asarray(values if isinstance(values, np.ndarray) else list(values))
        if array.dtype.kind in "iub" and self._int_classes is not None:
            ordered, positions = self._int_classes
            wanted = array.astype(np.int64)
            at = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
            if np.array_equal(ordered[at], wanted):  # every value is a class
                return positions[at].astype(np.int16)
        items = [str(v) for v in array.tolist()]
        if unknown is not None:
            index = self._class_index
            found = (index.get(v, unknown) for v in items)
            return np.fromiter(found, dtype=np.int16, count=len(items))
        try:
            return np.fromiter(
                (self._class_index[v] for v in items), dtype=np.int16, count=len(items)
            )
        except KeyError as error:
            raise UnknownClassError(
                f"{what} {error.args[0]!r} is not one of the model's classes {self.classes}"
            ) from None

    def reconstruction_errors(self, numeric: np.ndarray) -> np.ndarray:
        """Each row's reconstruction error under the profile's PCA (NaN without one);
        ``numeric`` from :meth:`numeric_values`."""
        if self.pca is None:
            return np.full(numeric.shape[0], np.nan)
        return self.pca.errors(numeric)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "names": list(self.names),
            "kinds": list(self.kinds),
            "bin_edges": [list(e) for e in self.bin_edges],
            "categories": [list(c) for c in self.categories],
            "classes": list(self.classes),
        }
        if self.pca is not None:  # a layout without one is written as before
            data["multivariate"] = self.pca.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SummaryLayout:
        return cls(
            names=tuple(data["names"]),
            kinds=tuple(data["kinds"]),
            bin_edges=tuple(tuple(float(v) for v in e) for e in data["bin_edges"]),
            categories=tuple(tuple(str(v) for v in c) for c in data["categories"]),
            classes=tuple(data["classes"]),
            pca=None
            if data.get("multivariate") is None
            else PcaProjection.from_dict(data["multivariate"]),
        )

    @staticmethod
    def _column(features: pd.DataFrame, name: str) -> pd.Series:
        try:
            return features[name]
        except KeyError:
            raise DriftError(f"events lack the feature {name!r}") from None


def event_hashes(event_ids: Sequence[str]) -> np.ndarray:
    """64-bit BLAKE2b of each event id: stable across processes and versions (unlike hash())."""
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(e.encode(), digest_size=8).digest() for e in event_ids])
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)
