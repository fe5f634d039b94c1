"""`make bench`: run every benchmark, print one table, and write it into docs/benchmarks.md.

The table sits between two markers in docs/benchmarks.md; the notes around it are kept.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.results import QUIET_LOAD, RESULTS, load_all

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench-table:begin -->", "<!-- bench-table:end -->"

# In the order of the targets table. Each prints its rows and records them in bench/results/.
BENCHMARKS = [
    "bench/bench_scoring.py",
    "bench/bench_latency.py",
    "bench/bench_drift_window.py",
    "bench/bench_evidently.py",
    "bench/bench_cbpe_nannyml.py",
    "bench/bench_producer.py",
    "bench/bench_retrain.py",
    "bench/bench_memory.py",
    "bench/bench_detection.py",
    "bench/bench_concept_calibration.py",
    "bench/bench_false_alarms.py",
    "bench/bench_detectors.py",
    "bench/bench_kswin.py",
    "bench/bench_shadow_cost.py",
]


def main(selected: list[str]) -> int:
    failures = []
    for script in selected or BENCHMARKS:
        print(f"\n=== {script} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(ROOT / script)], cwd=ROOT)
        print(f"=== {script}: exit {code} in {time.monotonic() - started:.0f}s ===", flush=True)
        if code != 0:
            failures.append(script)
    table = render_table()
    print("\n" + table)
    write_doc(table)
    if failures:
        print(f"benchmarks that failed to run: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


def render_table() -> str:
    rows = [
        "| target | measured | baseline (same run) | ratio | goal | met | load before -> after "
        "| command |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in load_all():
        met = {True: "yes", False: "**no**", None: "n/a"}[r["met"]]  # type: ignore[index]
        rows.append(
            f"| {r['what']} | {r['figure']} | {r['baseline']} | {r['ratio']} | {r['target']} "
            f"| {met} | {_load(r)} | `{r['command']}` |"
        )
    return "\n".join(rows)


def _load(result: dict[str, object]) -> str:
    """The run's load average, and whether it was quiet enough to compare (rows recorded
    before loads were kept say so in their notes, in the text below the table)."""
    before, after = result.get("load_before"), result.get("load_after")
    if not isinstance(before, int | float):
        return "see notes"
    shown = f"{before:g} -> {after:g}"
    return shown if before <= QUIET_LOAD else f"{shown} **not comparable**"


def write_doc(table: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{table}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.replace("# Benchmarks\n", f"# Benchmarks\n\n{block}\n", 1)
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(ROOT)} ({len(list(RESULTS.glob('*.json')))} results)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
