"""Live evidence at review time: `models compare` shows the paired test on the labeled events
after the challenger's training data, and `models promote` refuses a challenger it calls worse
(real broker, real MLflow server, the real CLI)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from centinela.contract.settings import Settings
from centinela.models.publishing import train_and_register
from centinela.models.registry import CHALLENGER
from retrain.catalog import Catalog
from retrain.live_evidence import TRAINED_UNTIL_TAG
from tests.e2e.processes import run_command
from tests.retrain.support import (
    labeled_frame,
    live_examples,
    recent,
    register_champion,
    write_labeled,
)

SHIFT = 1.0  # the live concept: labels from a shifted threshold the champion never saw


def register_challenger(
    settings: Settings, frame: pd.DataFrame, labels: np.ndarray, *, trained_until: datetime
) -> str:
    return train_and_register(
        settings,
        "logistic_regression",
        {},
        frame,
        labels,
        tags={"centinela.role": CHALLENGER, TRAINED_UNTIL_TAG: trained_until.isoformat()},
        run_name="challenger",
        experiment=settings.training_experiment,
        alias=CHALLENGER,
        sample_size=500,
    ).version


def test_a_challenger_that_learnt_the_new_concept_is_called_better_on_live_events(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings()
    register_champion(settings, seed=1)
    until = recent(30)
    new_frame, new_labels = labeled_frame(3000, seed=2, shift=SHIFT)
    version = register_challenger(settings, new_frame, new_labels, trained_until=until)
    # Before the end of its training data: old-concept events, where the champion is right.
    # They must not count (the challenger may have trained on them).
    before = live_examples(settings, 1500, start=until - timedelta(hours=1), seed=3, shift=0.0,
                           prefix="old")  # fmt: skip
    after = live_examples(settings, 1500, start=until + timedelta(seconds=1), seed=4, shift=SHIFT,
                          prefix="new")  # fmt: skip
    write_labeled(settings, before + after)

    out = run_command(settings, "models", "compare")

    assert f"live: 1,500 labeled events since {until:%Y-%m-%d %H:%M:%S}" in out
    assert "verdict: better" in out
    assert f"v{version} minus v1 +" in out


def test_promote_refuses_a_challenger_the_live_evidence_calls_worse_unless_forced(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings()
    register_champion(settings, seed=1)
    until = recent(30)
    frame, labels = labeled_frame(3000, seed=5)
    shuffled = np.random.default_rng(0).permutation(labels)  # learnt nothing
    version = register_challenger(settings, frame, shuffled, trained_until=until)
    write_labeled(
        settings, live_examples(settings, 1500, start=until, seed=6, shift=0.0, prefix="live")
    )

    refused = run_command(
        settings, "models", "promote", "--reason", "looked fine on the hold-out", exit_code=2
    )

    assert "verdict: worse" in refused and "use --force" in refused
    assert Catalog(settings).aliases()["champion"] == "1"
    forced = run_command(settings, "models", "promote", "--reason", "on purpose", "--force")
    assert f"promoted: {settings.model_name} v{version}" in forced
    assert Catalog(settings).aliases()["champion"] == version
