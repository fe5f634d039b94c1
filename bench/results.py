"""One result format for every benchmark, so `make bench` can gather them into one table.

A benchmark calls :func:`record` with its figure and the baseline measured in the same run; the
row is printed and written to ``bench/results/<key>.json``; ``bench/run_all.py`` renders them
all into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# Above this 1-minute load average before a run (2 cores), its figures are not comparable.
QUIET_LOAD = 1.5
# Benchmarks import this module first thing: the load when the run began.
LOAD_AT_START = os.getloadavg()[0]


@dataclass(frozen=True)
class BenchResult:
    key: str  # file name of the result, e.g. "drift_window"
    what: str  # the target's row in docs/benchmarks.md
    figure: str  # our measured figure, with unit
    baseline: str  # what we compared against, with its figure
    ratio: str  # ours vs baseline, phrased so that bigger is better or stated explicitly
    target: str
    met: bool | None  # None: not applicable / not measurable here
    command: str
    notes: str = ""


def record(result: BenchResult) -> None:
    RESULTS.mkdir(exist_ok=True)
    payload = {
        **asdict(result),
        "load_before": round(LOAD_AT_START, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()} {platform.node()}",
    }
    (RESULTS / f"{result.key}.json").write_text(json.dumps(payload, indent=2) + "\n")
    verdict = {True: "MET", False: "NOT MET", None: "n/a"}[result.met]
    loaded = "" if LOAD_AT_START <= QUIET_LOAD else ": NOT COMPARABLE (a loaded machine)"
    print(f"load average {payload['load_before']} before, {payload['load_after']} after{loaded}")
    print(f"\n[{verdict}] {result.what}: {result.figure} | baseline {result.baseline} | "
          f"ratio {result.ratio} | target {result.target}")  # fmt: skip


def load_all() -> list[dict[str, object]]:
    return [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
