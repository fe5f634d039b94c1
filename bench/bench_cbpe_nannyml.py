"""Accuracy estimated before labels: Centinela's estimate beside NannyML's CBPE, same windows.

For each scenario (stable, covariate shift, concept change; the Gaussian world of the
catalogue, change at event 20,000), a logistic-regression champion is trained on pre-drift
rows as ``centinela bootstrap`` trains it (three quarters to fit, one quarter as the labeled
reference). The scenario's stream is cut into drift windows of 2,000 events. Per window:

- realised: the champion's accuracy on the window's labels;
- ours: :func:`centinela.drift.estimation.estimate_performance` on the window's probabilities
  with the profile's calibration (what the stream writes as ``estimated_performance``);
- NannyML: CBPE (``classification_binary``, accuracy, isotonic calibration) fitted on the same
  reference rows, estimating on the same windows as chunks of 2,000 rows.

NannyML 0.13.1 runs in its own environment (bench/.nannyml-venv, pandas < 3: ``make
nannyml-venv``); the data goes there as .npz files and the estimates come back as JSON. Neither
estimator can see a concept change (``P(y | x)`` moves, the probabilities do not): the windows
after it show how far both are off, and the error is reported without and with them.

    .venv/bin/python bench/bench_cbpe_nannyml.py [--events 30000] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import BenchResult, record  # noqa: E402
from centinela.drift.estimation import estimate_performance  # noqa: E402
from centinela.models.publishing import fit_and_profile  # noqa: E402
from centinela.models.trainers import DEFAULT_TRAINER  # noqa: E402
from producers.catalogue import EVENTS_PER_WINDOW, get_scenario  # noqa: E402
from producers.scenario import Block, ScenarioStream, pre_drift_frame  # noqa: E402

NANNYML_PYTHON = ROOT / "bench" / ".nannyml-venv" / "bin" / "python"
SCENARIOS = ("stable", "covariate-sudden", "concept-sudden")
CHANGE_AT = 20_000  # every scenario above changes here (stable: never)
PRE_DRIFT_ROWS = 40_000


@dataclass(frozen=True)
class Window:
    scenario: str
    index: int
    first_event: int
    realised: float
    ours: float
    nannyml: float | None = None

    @property
    def after_change(self) -> bool:
        return self.scenario != "stable" and self.first_event >= CHANGE_AT


@dataclass(frozen=True)
class Prepared:
    """One scenario's reference and analysis rows, as both estimators see them."""

    scenario: str
    reference: dict[str, np.ndarray]  # proba (of class 1), pred, y
    analysis: dict[str, np.ndarray]
    windows: list[Window]
    ours_seconds: float


def stream_rows(name: str, events: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    scenario = get_scenario(name)
    stream = ScenarioStream(scenario, seed)
    blocks: list[Block] = []
    while sum(b.n for b in blocks) < events:
        block = stream.next_block()
        if block is None:
            break
        blocks.append(block)
    run = Block.concat(blocks).slice(0, events)
    features = pd.DataFrame(
        {n: np.asarray(run.features[n], dtype=np.float64) for n in stream.feature_names}
    )
    return features, np.asarray(run.labels)


def prepare(name: str, events: int, seed: int) -> Prepared:
    frame, labels = pre_drift_frame(get_scenario(name), PRE_DRIFT_ROWS, seed)
    split = len(frame) * 3 // 4
    trained = fit_and_profile(
        DEFAULT_TRAINER, {}, frame.iloc[:split], labels[:split],
        reference=(frame.iloc[split:], labels[split:]),
    )  # fmt: skip
    model, profile = trained.model, trained.profile
    classes = list(model.classes_)
    positive = classes[1]

    def columns(features: pd.DataFrame, truth: np.ndarray) -> dict[str, np.ndarray]:
        proba = model.predict_proba(features)
        return {
            "proba": proba[:, 1],
            "pred": (proba.argmax(axis=1) == 1).astype(int),
            "y": (np.asarray(truth) == positive).astype(int),
        }

    reference = columns(frame.iloc[split:], labels[split:])
    features, truth = stream_rows(name, events, seed)
    analysis = columns(features, truth)
    windows, seconds = [], 0.0
    for index, start in enumerate(range(0, len(truth), EVENTS_PER_WINDOW)):
        rows = slice(start, start + EVENTS_PER_WINDOW)
        proba, pred = analysis["proba"][rows], analysis["pred"][rows]
        confidence = np.where(pred == 1, proba, 1.0 - proba)  # of the predicted class
        started = time.perf_counter()
        estimate = estimate_performance(
            pred, confidence, n_classes=len(classes), calibration=profile.calibration
        )
        seconds += time.perf_counter() - started
        realised = float(np.mean(pred == analysis["y"][rows]))
        windows.append(Window(name, index, start, realised, estimate["accuracy"]))
    return Prepared(name, reference, analysis, windows, seconds)


def run_nannyml(prepared: list[Prepared]) -> dict[str, dict[str, object]]:
    """Per scenario: NannyML's estimated accuracy per chunk, and the seconds it took."""
    if not NANNYML_PYTHON.exists():
        raise SystemExit("NannyML's environment is missing: run `make nannyml-venv`")
    with tempfile.TemporaryDirectory() as folder:
        for item in prepared:
            np.savez(Path(folder) / f"{item.scenario}.reference.npz", **item.reference)
            np.savez(Path(folder) / f"{item.scenario}.analysis.npz", **item.analysis)
        subprocess.run(
            [str(NANNYML_PYTHON), str(ROOT / "bench" / "nannyml_worker.py"), folder,
             str(EVENTS_PER_WINDOW)],
            check=True, env={**os.environ, "NML_DISABLE_USAGE_LOGGING": "1"},
        )  # fmt: skip
        results: dict[str, dict[str, object]] = json.loads(
            (Path(folder) / "result.json").read_text()
        )
    return results


def mae(values: list[tuple[float, float]]) -> float:
    return float(np.mean([abs(estimate - truth) for estimate, truth in values]))


def table(windows: list[Window]) -> str:
    lines = [
        "| scenario | window | events | realised | ours | NannyML CBPE | ours - realised "
        "| NannyML - realised |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for w in windows:
        assert w.nannyml is not None
        mark = " (after the change)" if w.after_change else ""
        last = w.first_event + EVENTS_PER_WINDOW - 1
        lines.append(
            f"| {w.scenario} | {w.index} | {w.first_event:,}-{last:,}{mark} | {w.realised:.4f} "
            f"| {w.ours:.4f} | {w.nannyml:.4f} | "
            f"{w.ours - w.realised:+.4f} | {w.nannyml - w.realised:+.4f} |"
        )
    return "\n".join(lines)


def summary(windows: list[Window]) -> tuple[str, dict[str, tuple[float, float]]]:
    """Mean absolute error of each estimator, by group of windows."""
    groups = {
        "all windows": windows,
        "windows the estimators can follow (all but after the concept change)": [
            w for w in windows if not (w.scenario == "concept-sudden" and w.after_change)
        ],
    }
    for name in SCENARIOS:
        groups[name] = [w for w in windows if w.scenario == name]
    groups["covariate-sudden, after the change"] = [
        w for w in windows if w.scenario == "covariate-sudden" and w.after_change
    ]
    groups["concept-sudden, after the change"] = [
        w for w in windows if w.scenario == "concept-sudden" and w.after_change
    ]
    lines = [
        "| windows | n | MAE ours | MAE NannyML CBPE |",
        "|---|---:|---:|---:|",
    ]
    errors = {}
    for name, members in groups.items():
        ours = mae([(w.ours, w.realised) for w in members])
        theirs = mae([(float(w.nannyml or 0.0), w.realised) for w in members])
        errors[name] = (ours, theirs)
        lines.append(f"| {name} | {len(members)} | {ours:.4f} | {theirs:.4f} |")
    return "\n".join(lines), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=30_000, help="events per scenario")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    prepared = [prepare(name, args.events, args.seed) for name in SCENARIOS]
    theirs = run_nannyml(prepared)
    windows: list[Window] = []
    for item in prepared:
        estimates = theirs[item.scenario]["accuracy"]
        assert isinstance(estimates, list) and len(estimates) == len(item.windows)
        windows += [
            Window(w.scenario, w.index, w.first_event, w.realised, w.ours, float(value))
            for w, value in zip(item.windows, estimates, strict=True)
        ]
    print(table(windows))
    text, errors = summary(windows)
    print("\n" + text)
    apart = max(abs(w.ours - float(w.nannyml or 0.0)) for w in windows)
    print(f"\nlargest difference between the two estimates of a window: {apart:.2e}")
    ours_s = sum(item.ours_seconds for item in prepared)
    nannyml_s = sum(float(theirs[item.scenario]["seconds"]) for item in prepared)  # type: ignore[arg-type]
    print(
        f"\nestimation time over {len(windows)} windows: ours {1000 * ours_s:.1f} ms, "
        f"NannyML {1000 * nannyml_s:.0f} ms (fit and estimate)"
    )
    followed = errors["windows the estimators can follow (all but after the concept change)"]
    record(
        BenchResult(
            key="cbpe_nannyml",
            what=f"accuracy estimated before labels vs NannyML CBPE, {len(windows)} windows of "
            f"2,000 events (stable, covariate shift, concept change)",
            figure=f"MAE {followed[0]:.4f} where an estimate can follow (all windows "
            f"{errors['all windows'][0]:.4f})",
            baseline=f"NannyML 0.13.1 CBPE: MAE {followed[1]:.4f} (all windows "
            f"{errors['all windows'][1]:.4f})",
            ratio=f"{followed[0] - followed[1]:+.4f} MAE vs CBPE",
            target="MAE within 0.005 of CBPE's on the same windows",
            met=followed[0] <= followed[1] + 0.005,
            command=f".venv/bin/python bench/bench_cbpe_nannyml.py --events {args.events} "
            f"--seed {args.seed}",
            notes=f"the two estimates differ by {apart:.1e} at most (both: isotonic calibration "
            "on the reference, mean calibrated confidence); neither can see a concept change",
        )
    )


if __name__ == "__main__":
    main()
