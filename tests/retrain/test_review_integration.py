"""`centinela models ...` on a real MLflow server and broker: who/when/why, events, history."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from centinela.cli import main
from centinela.contract.records import RetrainRequest
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.models.registry import CHALLENGER, CHAMPION
from centinela.stack.process import free_port
from retrain.catalog import Catalog
from retrain.job import run_request
from tests.retrain.support import (
    examples,
    labeled_frame,
    read_records,
    recent,
    register_champion,
    request_for,
    settings_env,
    wait_for_events,
    write_labeled,
)

pytestmark = pytest.mark.integration


def use(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Make `centinela` in this process read ``settings`` (as a shell would pass them)."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key, value in settings_env(settings).items():
        if key.startswith("CENTINELA_"):
            monkeypatch.setenv(key, value)


def test_promote_moves_the_champion_and_rollback_restores_it(
    retrain_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = retrain_settings()
    register_champion(settings)
    start = recent(20)
    frame, labels = labeled_frame(800, seed=21, shift=0.6)
    rows = examples(frame, labels, model=settings.model_name, start=start)
    write_labeled(settings, rows)
    request = request_for(settings, start, rows[-1].label_time)
    assert run_request(settings, request).event.version == "2"
    capsys.readouterr()  # MLflow prints "View run ..." links; the CLI output starts here
    use(settings, monkeypatch, tmp_path)
    catalog = Catalog(settings)

    assert main(["models", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["champion"]["version"] == "1"
    assert status["challenger"]["version"] == "2"
    assert status["challenger"]["comparison"]["n_holdout"] == 80  # half of the 160 held out
    assert set(status["challenger"]["metrics"]) == {"accuracy", "f1", "roc_auc", "log_loss"}

    assert main(["models", "compare"]) == 0
    table = capsys.readouterr().out
    assert "champion v1" in table and "challenger v2" in table and "log_loss" in table

    assert main(["models", "promote", "--reason", "better f1", "--actor", "ana"]) == 0
    assert "promoted" in capsys.readouterr().out
    assert catalog.aliases() == {CHAMPION: "2"}
    tags = catalog.version("2").tags
    assert (tags["centinela.promoted_by"], tags["centinela.promoted_reason"]) == (
        "ana",
        "better f1",
    )
    assert tags["centinela.promoted_at"].endswith("+00:00")

    assert main(["models", "rollback", "--reason", "latency regression", "--actor", "bo"]) == 0
    assert catalog.aliases() == {CHAMPION: "1"}
    assert catalog.version("2").tags["centinela.rolled_back_by"] == "bo"
    assert catalog.version("2").tags["centinela.review"] == "rolled_back"

    events = wait_for_events(settings, lambda e: e.event_type != "registered", count=2)
    assert [(e.event_type, e.version, e.previous_version, e.actor) for e in events] == [
        ("promoted", "2", "1", "ana"),
        ("rolled_back", "1", "2", "bo"),
    ]
    assert "delta_f1" in events[0].metrics and events[1].reason == "latency regression"

    moves = [(m.action, m.alias, m.version, m.actor) for m in catalog.history()]
    assert moves == [
        ("register", CHALLENGER, "2", "centinela-retrain"),
        ("promote", CHAMPION, "2", "ana"),
        ("rollback", CHAMPION, "1", "bo"),
    ]

    # Nothing earlier than version 1 to roll back to: a clear error, not a traceback.
    assert main(["models", "rollback"]) == 2
    assert "no earlier champion" in capsys.readouterr().err

    assert main(["models", "reject", "2", "--reason", "overfits", "--actor", "ana"]) == 0
    assert main(["models", "promote", "2", "--reason", "second thoughts"]) == 2
    assert "was rejected by ana (overfits)" in capsys.readouterr().err
    assert main(["models", "reject", "1", "--reason", "x"]) == 2
    assert "is the champion" in capsys.readouterr().err


def test_unknown_model_and_unreachable_services_are_clear_errors(
    retrain_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = retrain_settings()
    use(settings, monkeypatch, tmp_path)
    assert main(["models", "--model", "nope", "status"]) == 2
    assert "has no model named 'nope'" in capsys.readouterr().err

    monkeypatch.setenv("CENTINELA_MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    assert main(["models", "status"]) == 2
    assert "MLflow does not answer" in capsys.readouterr().err

    monkeypatch.setenv("CENTINELA_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")
    assert main(["retrain", "--max-requests", "1"]) == 2
    assert "no Kafka broker answers" in capsys.readouterr().err


def test_a_person_can_request_a_retrain(
    retrain_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = retrain_settings()
    register_champion(settings)
    capsys.readouterr()
    use(settings, monkeypatch, tmp_path)

    assert main(["retrain", "request", "--last", "6h", "--reason", "weekly", "--actor", "ana"]) == 0
    assert "requested manual-" in capsys.readouterr().out
    [request] = read_records(
        settings, Topics.from_settings(settings).retrain_requests, RetrainRequest, lambda r: True
    )
    assert (request.reason, request.champion_version) == ("manual", "1")
    assert request.evidence == {"requested_by": "ana", "note": "weekly"}
    assert request.train_until - request.train_from == timedelta(hours=6)

    assert main(["retrain", "request"]) == 2
    assert "give either --last DURATION or --from TIME" in capsys.readouterr().err
    assert main(["retrain", "request", "--from", "2026-01-01T00:00:00"]) == 2
    assert "has no time zone" in capsys.readouterr().err
