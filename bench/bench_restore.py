"""How long a restarted stream worker takes to score again after a long run (target: within 30 s
after one hour of 4,000 events/s; docs/benchmarks.md).

A first `centinela stream` worker scores ``--minutes`` of event time at ``--event-rate``
events/s (default: one hour at 4,000/s, 14,400,000 events), 90% of them labeled 5 s later in
event time, the rest waiting out the default join TTL: the state a restarted worker must bring
back from its changelog. It is stopped (SIGTERM; with ``--crash``, SIGKILL the moment it has
scored the last event, so that it leaves no snapshot of its own and the next worker loads its
last periodic one and replays the changelog after it), and a second worker with the same
settings starts while a trickle of new events (200/s) arrives; the figure is the seconds from
its launch to its first scored new event. While it restores, its ``/status`` ``restoring``
section is sampled every second and printed (the progress a person sees; the log has the same
lines).

Baseline, same run: the first worker's own start, launch to first scored event, on empty
topics (nothing to restore).

Feeding runs at ``--rate`` (wall clock), below the worker's throughput, so no backlog builds up
before the restart: a backlog would be counted as restore time.

    .venv/bin/python bench/bench_restore.py [--minutes 60] [--event-rate 4000] [--rate 6000]
        [--crash]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_memory import feed
from bench.results import BenchResult, record
from bench.stream_support import (
    Worker,
    bench_settings,
    broker,
    prepare,
    register_champion,
    with_tracking,
)
from centinela.contract.settings import Settings

COMMAND = ".venv/bin/python bench/bench_restore.py"
TARGET_SECONDS = 30.0
TRICKLE_RATE = 200.0  # new events/s while the second worker starts
CHUNK = 20_000


def first_score_seconds(
    worker: Worker, launched: float, timeout: float, progress: list[str]
) -> float:
    """Seconds from ``launched`` to the worker's first scored event; ``/status`` restore lines
    are gathered into ``progress`` meanwhile."""
    deadline = launched + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited; see {worker.log.name}")
        try:
            if worker.scored() > 0:
                return time.monotonic() - launched
            restoring = worker.status().get("restoring") or {}
            if restoring:
                line = json.dumps(restoring, sort_keys=True)
                progress.append(f"{time.monotonic() - launched:6.1f}s {line}")
        except OSError:
            pass  # not listening yet
        except ValueError:
            pass  # /status answered before the app was up
        time.sleep(1.0)
    raise RuntimeError(f"no event scored within {timeout:.0f}s of the launch")


def restore_lines(log: Path) -> list[str]:
    """The worker's "state restored" lines, one per partition: how and how fast."""
    lines = log.read_text(errors="replace").splitlines()
    return [line.split("] ", 1)[-1] for line in lines if "state restored" in line]


def trickle(settings: Settings, start: int, stop: threading.Event, event_rate: float) -> None:
    """New events at TRICKLE_RATE until ``stop``: what the restarted worker must score."""
    done: list[int] = []
    position = start
    while not stop.is_set():
        count = int(TRICKLE_RATE)
        asyncio.run(feed(settings, count, TRICKLE_RATE, count, event_rate, done, first=position))
        position += count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0, help="event time before restart")
    parser.add_argument("--event-rate", type=float, default=4_000.0, help="events/s of event time")
    parser.add_argument("--rate", type=float, default=6_000.0, help="events/s fed (wall clock)")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite store, no MLflow server")
    parser.add_argument("--crash", action="store_true", help="SIGKILL the first worker")
    args = parser.parse_args()
    total = int(args.minutes * 60 * args.event_rate)
    progress: list[str] = []
    with tempfile.TemporaryDirectory(prefix="centinela-bench-restore-") as folder:
        home = Path(folder)
        with broker(home) as bootstrap, ExitStack() as stack:
            settings = bench_settings(bootstrap, home)
            settings = with_tracking(settings, home, stack, sqlite=args.sqlite)
            register_champion(settings)
            prepare(settings)
            launched = time.monotonic()
            first = Worker(settings, home / "worker-1.log")
            try:
                feeder = threading.Thread(
                    target=lambda: asyncio.run(
                        feed(settings, total, args.rate, CHUNK, args.event_rate, [])
                    )
                )
                feeder.start()
                cold = first_score_seconds(first, launched, 300.0, [])
                print(f"first worker scored its first event {cold:.1f}s after its launch")
                feeder.join()
                first.wait_scored(total, timeout=max(600.0, 2 * total / args.rate))
                print(f"first worker scored {total:,} events; restarting it")
            finally:
                stopping = time.monotonic()
                if args.crash:
                    first.kill()
                else:
                    first.stop()
                stopped = time.monotonic() - stopping
            if args.crash:
                print("first worker SIGKILLed: its last periodic snapshots are what is left")
            else:
                print(f"first worker stopped in {stopped:.1f}s (its state snapshots written)")
            stop = threading.Event()
            trickler = threading.Thread(
                target=trickle, args=(settings, total, stop, args.event_rate)
            )
            trickler.start()
            launched = time.monotonic()
            second = Worker(settings, home / "worker-2.log")
            try:
                resumed = first_score_seconds(second, launched, 1800.0, progress)
            finally:
                stop.set()
                trickler.join()
                second.stop()
            restored = restore_lines(home / "worker-2.log")
    for line in progress[:: max(1, len(progress) // 15)]:
        print(f"restoring: {line}")
    for line in restored:
        print(f"worker log: {line}")
    print(f"restarted worker scored a new event {resumed:.1f}s after its launch")
    record(
        BenchResult(
            key="stream_restore_crash" if args.crash else "stream_restore",
            what=("crash (SIGKILL) and " if args.crash else "")
            + f"restart after {args.minutes:g} min of {args.event_rate:,.0f} events/s "
            f"({total:,} events, 90% labeled 5 s later, join TTL "
            f"{Settings.model_fields['join_ttl_seconds'].default:g} s): launch to first new "
            "event scored",
            figure=f"{resumed:.1f} s",
            baseline=f"the first worker's start on empty topics: {cold:.1f} s",
            ratio=f"{resumed / cold:.1f}x the cold start",
            target=f"<= {TARGET_SECONDS:g} s after 60 min of 4,000 events/s",
            met=resumed <= TARGET_SECONDS if total >= 60 * 60 * 4_000 else None,
            command=f"{COMMAND} --minutes {args.minutes:g} --event-rate {args.event_rate:g} "
            f"--rate {args.rate:g}"
            + (" --sqlite" if args.sqlite else "")
            + (" --crash" if args.crash else ""),
            notes=(
                "first worker SIGKILLed"
                if args.crash
                else f"first worker stopped in {stopped:.1f} s"
            )
            + f"; {len(progress)} /status samples "
            f"showed the restore in progress; {sum('snapshot' in x for x in restored)} of "
            f"{len(restored)} partitions restored from a local snapshot"
            + ("" if total >= 60 * 60 * 4_000 else "; shorter than the target's hour: n/a"),
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
