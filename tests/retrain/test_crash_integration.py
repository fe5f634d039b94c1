"""Crash safety: a worker killed mid-request, and a version left half-registered."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from centinela.contract.settings import Settings
from centinela.models.registry import CHALLENGER, CHAMPION
from retrain.catalog import Catalog
from retrain.job import run_request
from retrain.registration import COMPLETE, STATE_TAG
from tests.retrain.support import (
    examples,
    labeled_frame,
    recent,
    register_champion,
    request_for,
    send_request,
    settings_env,
    wait_for_events,
    write_labeled,
)

pytestmark = pytest.mark.integration

CENTINELA = str(Path(sys.executable).with_name("centinela"))
SLOW_RECIPE = {"n_estimators": 400, "max_depth": None}  # a few seconds of training to kill into


class WorkerProcess:
    """`centinela retrain` in a subprocess, its log lines readable as they come."""

    def __init__(self, settings: Settings, cwd: Path) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.process = subprocess.Popen(
            [CENTINELA, "retrain"],
            env=settings_env(settings),
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip())

    def wait_for_line(self, fragment: str, timeout: float = 180.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, f"worker exited: {self.seen[-20:]}"
                continue
            self.seen.append(line)
            if fragment in line:
                return line
        raise AssertionError(f"no log line with {fragment!r}; last lines: {self.seen[-20:]}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)


def test_a_worker_killed_during_training_leaves_exactly_one_challenger(
    retrain_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = retrain_settings()
    register_champion(settings, trainer="random_forest", params=SLOW_RECIPE)
    start = recent(30)
    frame, labels = labeled_frame(3000, seed=11, shift=0.5)
    rows = examples(frame, labels, model=settings.model_name, start=start)
    write_labeled(settings, rows)
    request = request_for(settings, start, rows[-1].label_time)
    send_request(settings, request)

    first = WorkerProcess(settings, tmp_path)
    try:
        first.wait_for_line(f"retrain {request.request_id}: train ...")
    finally:
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    catalog = Catalog(settings)
    assert [v.version for v in catalog.versions()] == ["1"], "killed after registering"

    second = WorkerProcess(settings, tmp_path)
    try:
        events = wait_for_events(settings, lambda e: e.request_id == request.request_id)
        second.wait_for_line("model event registered")
    finally:
        assert second.stop() == 0  # SIGTERM: a clean stop

    assert [(e.event_type, e.version) for e in events] == [("registered", "2")]
    versions = catalog.versions_for_request(request.request_id, settings.training_experiment)
    assert [(v.version, v.tags[STATE_TAG]) for v in versions] == [("2", COMPLETE)]
    assert [v.version for v in catalog.versions()] == ["2", "1"]
    assert catalog.aliases() == {CHAMPION: "1", CHALLENGER: "2"}


def test_a_half_registered_version_is_replaced_not_kept(
    retrain_settings: Callable[..., Settings],
) -> None:
    """A crash between registering a version and completing it: the re-run deletes it."""
    settings = retrain_settings()
    register_champion(settings)
    start = recent(20)
    frame, labels = labeled_frame(600, seed=12)
    rows = examples(frame, labels, model=settings.model_name, start=start)
    write_labeled(settings, rows)
    request = request_for(settings, start, rows[-1].label_time)
    # What a crash right after `log_model_version` leaves: a version tagged with the request
    # (run and version), not marked complete, with no alias.
    half = register_champion(settings, seed=3)
    catalog = Catalog(settings)
    catalog.set_alias(CHAMPION, "1")
    catalog.set_version_tags(half, {"centinela.request_id": request.request_id})

    outcome = run_request(settings, request)

    assert outcome.event.version == "3" and not outcome.resumed
    remaining = [v.version for v in catalog.versions()]
    assert remaining == ["3", "1"], "the half-registered version 2 should be gone"
    assert catalog.aliases() == {CHAMPION: "1", CHALLENGER: "3"}
    again = run_request(settings, request)
    assert again.resumed and again.event.version == "3"
    assert [v.version for v in catalog.versions()] == ["3", "1"]
