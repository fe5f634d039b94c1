"""KSWIN: river's class against ours (:class:`centinela.drift.concept.KSWindow`), one run.

Both detectors read the same 0/1 error stream (error rate 0.10, rising to 0.30 half way) with
the stream's KSWIN parameters (a 1,000-error window, 200-error statistic window, alpha 0.001,
seed 42). river's ``KSWIN.update`` calls ``scipy.stats.ks_2samp`` on every error; ours computes
the same statistic and caches the exact p-value per lattice point. The run checks that both
detect at the same errors, then prints errors per second of each and the ratio.

    .venv/bin/python bench/bench_kswin.py [--errors 40000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

from river import drift

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import BenchResult, record
from centinela.drift.concept import KSWIN_DEFAULTS, KSWindow


def error_stream(n: int, seed: int = 3) -> list[int]:
    rng = random.Random(seed)
    return [int(rng.random() < (0.10 if i < n // 2 else 0.30)) for i in range(n)]


def run(detector: Any, errors: list[int]) -> tuple[float, list[int]]:
    detections = []
    started = time.perf_counter()
    for position, error in enumerate(errors):
        detector.update(error)
        if detector.drift_detected:
            detections.append(position)
    return time.perf_counter() - started, detections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--errors", type=int, default=40_000)
    args = parser.parse_args()
    errors = error_stream(args.errors)
    river_seconds, river_hits = run(drift.KSWIN(**KSWIN_DEFAULTS), errors)
    ours_seconds, our_hits = run(KSWindow(**KSWIN_DEFAULTS), errors)
    if river_hits != our_hits:
        raise SystemExit(f"the detectors differ: river {river_hits} vs ours {our_hits}")
    ours_rate, river_rate = args.errors / ours_seconds, args.errors / river_seconds
    record(
        BenchResult(
            key="kswin",
            what="KSWIN on the 0/1 error stream, stream defaults (1,000 / 200, alpha 0.001)",
            figure=f"{ours_rate:,.0f} errors/s (KSWindow)",
            baseline=f"{river_rate:,.0f} errors/s (river.drift.KSWIN)",
            ratio=f"{ours_rate / river_rate:.1f}x faster, same {len(our_hits)} detections",
            target="keep our own class only if it is clearly faster than river's",
            met=ours_rate > 2 * river_rate,
            command=f".venv/bin/python bench/bench_kswin.py --errors {args.errors}",
        )
    )


if __name__ == "__main__":
    main()
