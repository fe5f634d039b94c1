"""Runs inside NannyML's own environment (bench/.nannyml-venv, pandas < 3).

Reads, per scenario, the reference and analysis rows that bench_cbpe_nannyml.py wrote as .npz
files (``proba`` of class 1, ``pred``, ``y``), fits CBPE on the reference and estimates the
accuracy of the analysis rows in chunks of the given size, and prints JSON: per scenario the
estimated accuracy of each chunk, in order, and the seconds fit and estimate took.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import nannyml as nml
import numpy as np
import pandas as pd


def frame(path: Path) -> pd.DataFrame:
    with np.load(path) as data:
        return pd.DataFrame({name: data[name] for name in ("proba", "pred", "y")})


def estimate(reference: pd.DataFrame, analysis: pd.DataFrame, chunk_size: int) -> list[float]:
    calculator = nml.CBPE(
        problem_type="classification_binary",
        y_pred_proba="proba",
        y_pred="pred",
        y_true="y",
        metrics=["accuracy"],
        chunk_size=chunk_size,
    )
    calculator.fit(reference)
    result = calculator.estimate(analysis.drop(columns=["y"])).filter(period="analysis").to_df()
    starts = result[("chunk", "start_index")].tolist()
    if starts != list(range(0, len(analysis), chunk_size)):
        raise SystemExit(f"NannyML's chunks start at {starts}, not every {chunk_size} rows")
    return [float(value) for value in result[("accuracy", "value")]]


def main(folder: Path, chunk_size: int) -> None:
    warnings.simplefilter("ignore")  # "too few chunks" on the reference: it is one reference
    results = {}
    for path in sorted(folder.glob("*.reference.npz")):
        scenario = path.name.removesuffix(".reference.npz")
        reference, analysis = frame(path), frame(folder / f"{scenario}.analysis.npz")
        started = time.perf_counter()
        values = estimate(reference, analysis, chunk_size)
        results[scenario] = {"accuracy": values, "seconds": time.perf_counter() - started}
    (folder / "result.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
