"""Runs inside Evidently's own environment (bench/.evidently-venv, pandas < 3).

Reads the reference and the windows that bench_evidently.py wrote as .npy files, runs
Evidently's DataDriftPreset with the KS test on each window, and prints JSON: per window the
seconds taken, and per feature the p-value and the drift verdict.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def main(folder: Path, threshold: float) -> None:
    reference = np.load(folder / "reference.npy")
    names = [f"x{i}" for i in range(reference.shape[1])]
    reference_frame = pd.DataFrame(reference, columns=names)
    windows = sorted(folder.glob("window-*.npy"))
    report = Report([DataDriftPreset(num_method="ks", num_threshold=threshold)])
    report.run(pd.DataFrame(np.load(windows[0]), columns=names), reference_frame)  # warm-up
    results = []
    for path in windows:
        frame = pd.DataFrame(np.load(path), columns=names)
        started = time.perf_counter()
        snapshot = report.run(frame, reference_frame)
        seconds = time.perf_counter() - started
        p_values = {}
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if config.get("type", "").endswith("ValueDrift"):
                p_values[config["column"]] = float(metric["value"])
        results.append(
            {
                "seconds": seconds,
                "p_values": p_values,
                "drifted": {name: p < threshold for name, p in p_values.items()},
            }
        )
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(Path(sys.argv[1]), float(sys.argv[2]))
