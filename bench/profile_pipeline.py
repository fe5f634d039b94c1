"""Where the stream worker's time per event goes: a profile of the hot path at saturation.

The worker's batch step (:meth:`stream.pipeline.Pipeline.process`: validation, the numeric
matrix, scoring, prediction encoding, the label join, window summaries, changelog rows and
labeled examples) runs in this process on pre-encoded batches at the default settings (batch
size 1,000, join TTL 3,600 s), 20 features, a scenario clock of 4,000 events/s and a label per
event arriving some hundred events after it, as in a real deployment. No Kafka: what is left is
the worker's own CPU per event (with the worker's thread limit and garbage collector
settings), which the throughput bench (bench_scoring.py) adds Kafka's
fetch and produce to. cProfile's total is printed with the functions that take most of it,
grouped by stage.

    .venv/bin/python bench/profile_pipeline.py [--batches 100] [--label-lag 300] [--top 25]
        [--batch-size 1000] [--partitions 1]

``--plain`` runs the same batches without the profiler, ``--repeats`` times (a fresh pipeline
each time), and prints the CPU per event of each run: the figure to compare two versions of the
code by, interleaved, on a machine whose load moves. ``--batch-size 50 --partitions 4`` is
what a worker that keeps up with a moderate rate sees: small batches, each spread over its
partitions, whose fixed costs weigh per event.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stream_support import bench_model, encoded_events
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.models.registry import LoadedModel
from stream.app import summary_maker
from stream.champion import Champion
from stream.commands import tune_garbage_collector
from stream.math_threads import limit_math_threads
from stream.pipeline import Pipeline

RATE = 4000.0
# The steps of one batch, as Pipeline.process calls them: (file, function) -> what it does.
# Their cumulative times do not overlap: process calls each of them, and they not each other.
STEPS = {
    ("stream/pipeline.py", "_validate_events"): "validate feature events (bytes -> records)",
    ("stream/pipeline.py", "_arrays"): "numeric matrix and frame",
    ("stream/scoring.py", "score"): "scoring (predict_proba on the batch)",
    ("centinela/contract/codec/fast_encoders.py", "encode"): "encode predictions",
    ("stream/state.py", "apply_events"): "join: add events, outcomes of early labels",
    ("stream/pipeline.py", "_validate_labels"): "validate labels",
    ("stream/state.py", "apply_labels"): "join: match labels, window outcomes",
    ("stream/pipeline.py", "_publish_applied"): "encode labeled examples",
    ("stream/pipeline.py", "_finish"): "close windows (summaries to partials)",
    ("stream/pipeline.py", "_advance"): "commit offsets",
    ("stream/pipeline.py", "_log"): "changelog group of the batch",
}


@dataclass(frozen=True)
class Message:
    """The fields of a Kafka record the pipeline reads."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int = 0


Batch = tuple[dict[int, list[Message]], dict[int, list[Message]]]  # features, labels


def batches(n_batches: int, size: int, lag: int, partitions: int = 1) -> list[Batch]:
    """Feature batches of ``size`` with the labels of the events ``lag`` events earlier, by
    partition (event ``i`` in partition ``i % partitions``, as a key hash spreads them)."""
    n = n_batches * size
    keys, values, labels = encoded_events(n, rate=RATE, label_delay=lag / RATE)
    offsets, label_offsets = [0] * partitions, [0] * partitions
    out = []
    for b in range(n_batches):
        features: dict[int, list[Message]] = {}
        answers: dict[int, list[Message]] = {}
        for i in range(b * size, (b + 1) * size):
            p = i % partitions
            features.setdefault(p, []).append(Message(p, offsets[p], keys[i], values[i]))
            offsets[p] += 1
        for i in range(max(0, b * size - lag), max(0, (b + 1) * size - lag)):
            p = i % partitions
            answers.setdefault(p, []).append(Message(p, label_offsets[p], keys[i], labels[i]))
            label_offsets[p] += 1
        out.append((features, answers))
    return out


def pipeline_and_champion(settings: Settings, partitions: int = 1) -> tuple[Pipeline, Champion]:
    model, profile, _, _ = bench_model()
    loaded = LoadedModel("bench", "1", "run", model, profile, "logistic_regression")
    champion = Champion.from_model(loaded, settings)
    profiles = {"1": profile}
    pipeline = Pipeline(
        settings, Topics.from_settings(settings), profiles.__getitem__, summary_maker(settings)
    )
    pipeline.n_partitions = partitions
    for partition in range(partitions):
        pipeline.assign(partition)
    return pipeline, champion


def worker_setup() -> None:
    """What `centinela stream` sets up before it scores: its numeric libraries' threads and
    garbage collector thresholds, at the defaults."""
    limit_math_threads(Settings(_env_file=None).stream_math_threads)  # type: ignore[call-arg]
    tune_garbage_collector()


def step_seconds(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds of each step of :data:`STEPS`."""
    found: dict[str, float] = defaultdict(float)
    entries = stats.stats  # type: ignore[attr-defined]  # pstats keeps no public view of them
    for (filename, _, function), (_, _, _, cumulative, _) in entries.items():
        for (path, name), step in STEPS.items():
            if function == name and filename.endswith(path):
                found[step] += cumulative
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--label-lag", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--plain", action="store_true", help="no profiler: CPU per event only")
    parser.add_argument("--repeats", type=int, default=3, help="runs of --plain")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="events per batch (default: the setting's)"
    )
    parser.add_argument(
        "--partitions", type=int, default=1, help="partitions the batches' events spread over"
    )
    args = parser.parse_args()
    worker_setup()
    if args.plain:
        plain(args.batches, args.label_lag, args.repeats, args.batch_size, args.partitions)
        return
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(_env_file=None, home=Path(home))  # type: ignore[call-arg]
        size = args.batch_size or settings.batch_size
        pipeline, champion = pipeline_and_champion(settings, args.partitions)
        work = batches(args.batches, size, args.label_lag, args.partitions)
        profiler = cProfile.Profile()
        started, cpu = time.perf_counter(), time.process_time()
        profiler.enable()
        for features, labels in work:
            pipeline.process(
                champion, features, labels, labels_caught_up=lambda p: True,
                received_at=time.monotonic(),
            )  # fmt: skip
        profiler.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        pipeline.close()
    events = args.batches * size
    print(f"{events:,} events with their labels, batch size {size}, "
          f"{args.partitions} partition(s): "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU under the profiler = "
          f"{cpu / events * 1e6:.1f} us CPU per event")  # fmt: skip
    stats = pstats.Stats(profiler)
    steps = step_seconds(stats)
    total = stats.total_tt  # type: ignore[attr-defined]
    print("\nthe steps of Pipeline.process, cumulative time:")
    for step in STEPS.values():
        seconds = steps.get(step, 0.0)
        print(f"  {seconds / total:6.1%}  {seconds / events * 1e6:7.1f} us/event  {step}")
    rest = total - sum(steps.values())
    print(f"  {rest / total:6.1%}  {rest / events * 1e6:7.1f} us/event  the rest of process")
    print()
    stats.sort_stats("tottime").print_stats(args.top)


def plain(
    n_batches: int, lag: int, repeats: int, batch_size: int | None = None, partitions: int = 1
) -> None:
    """CPU per event of Pipeline.process without the profiler, ``repeats`` times."""
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    figures = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(_env_file=None, home=Path(home))  # type: ignore[call-arg]
            size = batch_size or settings.batch_size
            pipeline, champion = pipeline_and_champion(settings, partitions)
            work = batches(n_batches, size, lag, partitions)
            cpu = time.process_time()
            for features, labels in work:
                pipeline.process(
                    champion, features, labels, labels_caught_up=lambda p: True,
                    received_at=time.monotonic(),
                )  # fmt: skip
            cpu = time.process_time() - cpu
            pipeline.close()
        figures.append(cpu / (n_batches * size) * 1e6)
    shown = ", ".join(f"{figure:.1f}" for figure in figures)
    print(f"{n_batches * size:,} events with their labels, batch size {size}, "
          f"{partitions} partition(s), no profiler: {shown} us CPU per event "
          f"(best {min(figures):.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
