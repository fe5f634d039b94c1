"""Replay a CSV or Parquet file as events, through a column mapping.

The mapping names the label column and optionally the feature columns (default: every other
column), which of them are categorical, an event-time column and an event-id column. Feature
columns are numeric unless listed as categorical; a value that is not a number, or a missing
value, is an error that names the column and row, so bad data is caught before it is sent.
``river:NAME`` replays a dataset that ships inside river's wheel (no download), e.g.
``river:phishing``.

>>> source = ReplaySource(ColumnMapping(path="river:phishing"))
>>> source.length, source.classes, source.feature_names[:2]
(1250, (0, 1), ('empty_server_form_handler', 'popup_window'))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from producers.exceptions import DatasetError
from producers.sources.base import ClassValue, Rows, Source, numeric_stats, shares

# Datasets bundled in river's wheel as plain CSV, with their label column.
RIVER_DATASETS: dict[str, tuple[str, str]] = {
    "phishing": ("Phishing", "is_phishing"),
}


@dataclass(frozen=True)
class ColumnMapping:
    """Where a replay's fields come from."""

    path: str
    label: str | None = None
    features: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    time_column: str | None = None
    id_column: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_path(path: str) -> tuple[Path, str | None]:
    """A file path, or ``river:NAME`` resolved to the file in river's wheel (and its label)."""
    if not path.startswith("river:"):
        return Path(path).expanduser(), None
    key = path.removeprefix("river:").lower()
    if key not in RIVER_DATASETS:
        raise DatasetError(
            f"river dataset {key!r} is not one that ships in river's wheel as CSV; "
            f"available: {', '.join(sorted(RIVER_DATASETS))}"
        )
    from river import datasets  # river is slow to import; only replays of its data need it

    class_name, label = RIVER_DATASETS[key]
    return Path(getattr(datasets, class_name)().path), label


def read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"replay file {path} does not exist")
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if ".parquet" in suffixes or ".pq" in suffixes:
            return pd.read_parquet(path)
        if ".csv" in suffixes or ".txt" in suffixes or ".tsv" in suffixes:
            return pd.read_csv(path, sep="\t" if ".tsv" in suffixes else ",")
    except (OSError, ValueError, ImportError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from None
    raise DatasetError(f"{path}: replay reads .csv (optionally compressed) or .parquet files")


class ReplaySource(Source):
    """The rows of a file, in file order, once."""

    name = "replay"
    emit_dtype = np.float64

    def __init__(self, mapping: ColumnMapping, seed: int = 0) -> None:
        path, default_label = resolve_path(mapping.path)
        self.path = path
        frame = read_table(path)
        label = mapping.label or default_label
        if label is None:
            raise DatasetError(f"name the label column of {path} (--label-column)")
        self.mapping = mapping
        self.label_column = label
        mapped = [label, mapping.time_column, mapping.id_column, *mapping.features]
        missing = [c for c in [*mapped, *mapping.categorical] if c and c not in frame.columns]
        if missing:
            raise DatasetError(
                f"{path} has no column {', '.join(map(repr, missing))}; "
                f"its columns are {', '.join(map(str, frame.columns))}"
            )
        reserved = {label, mapping.time_column, mapping.id_column}
        names = mapping.features or tuple(str(c) for c in frame.columns if c not in reserved)
        if not names:
            raise DatasetError(f"{path} has no feature columns besides the mapped ones")
        self.feature_names = tuple(names)
        self._features = {
            name: _feature_column(frame[name], name, name in mapping.categorical) for name in names
        }
        self._labels = _label_column(frame[label], label)
        self.classes: tuple[ClassValue, ...] = tuple(
            sorted(set(self._labels.tolist()), key=lambda c: (isinstance(c, str), c))
        )
        self._times = _time_column(frame, mapping.time_column)
        self._ids = _id_column(frame, mapping.id_column)
        self._position = 0

    @property
    def length(self) -> int:
        return len(self._labels)

    def draw(self, n: int) -> Rows:
        begin, end = self._position, min(self._position + n, self.length)
        self._position = end
        return Rows(
            features={name: column[begin:end] for name, column in self._features.items()},
            labels=self._labels[begin:end],
            event_time=None if self._times is None else self._times[begin:end],
            event_id=None if self._ids is None else self._ids[begin:end],
        )

    def feature_stats(self) -> dict[str, tuple[float, float]]:
        return numeric_stats(self._features)

    def class_shares(self) -> dict[ClassValue, float]:
        return shares(self._labels, self.classes)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "label": self.label_column,
            "features": list(self.feature_names),
            "categorical": list(self.mapping.categorical),
            "time_column": self.mapping.time_column,
            "id_column": self.mapping.id_column,
        }


def _feature_column(column: pd.Series, name: str, categorical: bool) -> np.ndarray:
    if column.isna().any():
        row = int(np.flatnonzero(column.isna().to_numpy())[0])
        raise DatasetError(f"column {name!r} has a missing value at row {row}; clean the file")
    if categorical:
        return column.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.astype(np.int64).to_numpy()
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DatasetError(f"column {name!r} has a non-finite value at row {row}")
        return values
    parsed = pd.to_numeric(column, errors="coerce")
    row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
    raise DatasetError(
        f"column {name!r} is not numeric: row {row} holds {column.iloc[row]!r}; "
        "list it with --categorical-columns if it is a category"
    )


def _label_column(column: pd.Series, name: str) -> np.ndarray:
    if column.isna().any():
        row = int(np.flatnonzero(column.isna().to_numpy())[0])
        raise DatasetError(f"label column {name!r} has a missing value at row {row}")
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.astype(np.int64).to_numpy()
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64)
        if not np.all(values == np.round(values)):
            raise DatasetError(f"label column {name!r} holds non-integer numbers; classes only")
        return values.astype(np.int64)
    return column.astype(str).to_numpy(dtype=object)


def _time_column(frame: pd.DataFrame, name: str | None) -> np.ndarray | None:
    if name is None:
        return None
    try:
        # Naive times are taken as UTC: files rarely say, and records must be aware.
        times = pd.to_datetime(frame[name], utc=True)
    except (ValueError, TypeError) as error:
        raise DatasetError(f"time column {name!r} does not parse as timestamps: {error}") from None
    if times.isna().any():
        raise DatasetError(f"time column {name!r} has missing timestamps")
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


def _id_column(frame: pd.DataFrame, name: str | None) -> np.ndarray | None:
    if name is None:
        return None
    ids = frame[name].astype(str)
    if ids.duplicated().any():
        raise DatasetError(
            f"id column {name!r} holds duplicate ids (e.g. {ids[ids.duplicated()].iloc[0]!r})"
        )
    return ids.to_numpy(dtype=object)
