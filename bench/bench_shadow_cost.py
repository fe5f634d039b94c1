"""What shadow scoring costs: the worker's CPU per event with a challenger beside the champion.

The worker's batch step (:meth:`stream.pipeline.Pipeline.process`) runs in this process on the
same pre-encoded batches twice, at the defaults (batch size 1,000), 20 features, a label per
event 300 events later: once with the champion alone, once with a challenger (another
20-feature logistic regression, trained on other rows) scored in the shadow. The two runs
alternate batch by batch on fresh pipelines, so a busy moment of the machine falls on both;
the figure is CPU seconds per event (``time.process_time``), Kafka left out: what the
challenger adds is one predict and the encoding of its records per batch, nothing per event.

    .venv/bin/python bench/bench_shadow_cost.py [--batches 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.profile_pipeline import batches, pipeline_and_champion, worker_setup
from bench.results import BenchResult, record
from bench.stream_support import frame, truth
from centinela.contract.settings import Settings
from centinela.models.publishing import fit_and_profile
from centinela.models.registry import LoadedModel
from stream.champion import Champion
from stream.pipeline import Pipeline

COMMAND = ".venv/bin/python bench/bench_shadow_cost.py"


def challenger_for(settings: Settings) -> Champion:
    data = frame(5000, seed=9)
    trained = fit_and_profile("logistic_regression", {"C": 0.5}, data, truth(data))
    loaded = LoadedModel("bench", "2", "run", trained.model, trained.profile, "logistic_regression")
    return Champion.from_model(loaded, settings, role="shadow")


def step(pipeline: Pipeline, champion: Champion, work: tuple, challenger: Champion | None) -> float:
    features, labels = work
    started = time.process_time()
    out = pipeline.process(
        champion, features, labels, labels_caught_up=lambda p: True,
        received_at=time.monotonic(), challenger=challenger,
    )  # fmt: skip
    spent = time.process_time() - started
    if challenger is not None and len(out.shadow_predictions.get(0, [])) != len(features[0]):
        raise SystemExit("the challenger did not score every event of the batch")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    worker_setup()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(_env_file=None, home=Path(home))  # type: ignore[call-arg]
        alone, champion = pipeline_and_champion(settings)
        shadowed, _ = pipeline_and_champion(settings)
        challenger = challenger_for(settings)
        work = batches(args.batches, settings.batch_size, 300)
        seconds = {"alone": 0.0, "shadow": 0.0}
        for batch in work:  # alternate, so that load falls on both
            seconds["alone"] += step(alone, champion, batch, None)
            seconds["shadow"] += step(shadowed, champion, batch, challenger)
        alone.close()
        shadowed.close()
    events = args.batches * settings.batch_size
    alone_us, shadow_us = (seconds[k] / events * 1e6 for k in ("alone", "shadow"))
    record(
        BenchResult(
            key="shadow_cost",
            what="shadow scoring: worker CPU per event with a challenger, defaults, labels on",
            figure=f"{shadow_us:.1f} us CPU/event with the challenger in the shadow",
            baseline=f"champion alone: {alone_us:.1f} us CPU/event (same batches, alternated)",
            ratio=f"{shadow_us / alone_us:.2f}x the champion-only CPU",
            target="<= 1.5x the champion-only CPU per event",
            met=shadow_us <= 1.5 * alone_us,
            command=f"{COMMAND} --batches {args.batches}",
        )
    )


if __name__ == "__main__":
    main()
