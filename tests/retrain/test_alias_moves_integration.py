"""Alias moves as a compare-and-set on a real `mlflow server` (SQLite), from many processes.

A champion (v1) and two challengers (v2, v3) are registered; ten `centinela models promote` and
`rollback` processes start at once. Every move that succeeded is in the history exactly once,
each one replaced the champion the one before it left (none was lost), every failure is a clean
error, the alias is the last entry, and a final `rollback` goes to the champion before it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlflow.tracking import MlflowClient

from centinela.contract.settings import Settings
from centinela.models.publishing import train_and_register
from centinela.models.registry import CHALLENGER, CHAMPION
from retrain.catalog import Catalog
from retrain.exceptions import AliasMoveConflictError, ReviewError
from retrain.history import HISTORY_TAG, HistoryEntry, dump_history
from retrain.ledger import LEDGER_EXPERIMENT, LEDGER_RUN_TAG, MlflowLedger, pointer_experiment
from retrain.registration import publish
from retrain.review import Review
from tests.retrain.support import (
    labeled_frame,
    register_champion,
    settings_env,
    wait_for_events,
)

CENTINELA = str(Path(sys.executable).with_name("centinela"))
CONFLICT = "another move happened first"
REFUSALS = ("is already the champion", "no earlier champion")
DONE = re.compile(r"^(promoted|rolled_back): \S+ v(\d+)(?: \(was v(\d+)\))? by (\S+)$", re.M)


def register_models(settings: Settings) -> Catalog:
    """v1 the champion (as bootstrap leaves it), v2 and v3 challengers, in that order."""
    assert register_champion(settings) == "1"
    catalog = Catalog(settings)
    for seed in (2, 3):
        frame, labels = labeled_frame(600, seed=seed, shift=0.3)
        version = train_and_register(
            settings,
            "logistic_regression",
            {},
            frame,
            labels,
            tags={"centinela.role": CHALLENGER},
            run_name=f"challenger-{seed}",
            experiment="centinela-bootstrap",
            alias=None,
            sample_size=200,
        ).version
        assert version == str(seed)
        publish(catalog, version, f"req-{seed}", "test challenger")
    assert catalog.aliases() == {CHAMPION: "1", CHALLENGER: "3"}
    return catalog


def champions(entries: list[HistoryEntry], start: str = "1") -> list[str]:
    """Replay the history: a promotion pushes, a rollback pops and must land on the version
    below. Each move must replace the champion the one before it left: a lost move breaks it."""
    stack = [start]
    for entry in entries:
        if not entry.moves_champion:
            continue
        assert entry.previous == stack[-1], f"move {entry.seq} replaced a champion it never saw"
        if entry.action == "promote":
            stack.append(str(entry.version))
        else:
            stack.pop()
            assert stack[-1] == entry.version, f"rollback {entry.seq} went to the wrong version"
    return stack


def command(i: int) -> list[str]:
    """Even: promote v2 or v3 (alternately); odd: roll back. Each with its own actor."""
    if i % 2:
        action = ["rollback", "--reason", f"concurrent {i}"]
    else:
        action = ["promote", str(2 + (i // 2) % 2), "--reason", f"concurrent {i}"]
    return [CENTINELA, "models", *action, "--actor", f"op-{i}"]


def test_ten_concurrent_moves_keep_the_history_complete_and_rollback_right(
    retrain_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = retrain_settings()
    catalog = register_models(settings)
    env = settings_env(settings)
    processes = [
        subprocess.Popen(
            command(i),
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(10)
    ]
    results: dict[str, tuple[int, str, str]] = {}
    for i, process in enumerate(processes):
        stdout, stderr = process.communicate(timeout=300)
        results[f"op-{i}"] = (process.returncode, stdout, stderr)

    history = catalog.history()
    for e in history:
        print(f"{e.seq:>3} {e.action:<9} v{e.version} (was v{e.previous}) {e.actor}")
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    assert [(e.action, e.version) for e in history[:2]] == [("register", "2"), ("register", "3")]
    moves = {e.actor: e for e in history if e.moves_champion}
    assert len(moves) == len(history) - 2, "an actor's move is in the history more than once"

    succeeded: set[str] = set()
    conflicts = 0
    for actor, (code, out, err) in results.items():
        assert "Traceback" not in err, err
        if code == 0:
            succeeded.add(actor)
            [(kind, version, previous, by)] = DONE.findall(out)
            entry = moves[actor]
            assert by == actor
            assert (kind, version, previous or None) == (
                {"promote": "promoted", "rollback": "rolled_back"}[entry.action],
                entry.version,
                entry.previous,
            ), f"{actor} reported a move other than the one recorded"
        else:
            assert code == 2, (actor, code, err)
            assert actor not in moves, f"{actor} failed but its move was recorded"
            assert CONFLICT in err or any(text in err for text in REFUSALS), err
            conflicts += CONFLICT in err
    assert succeeded == set(moves), "a successful move is missing from the history"
    refused = 10 - len(succeeded) - conflicts
    print(f"{len(succeeded)} moves succeeded, {conflicts} lost a race, {refused} refused")

    stack = champions(history)
    assert catalog.alias(CHAMPION) == stack[-1]
    last = [e for e in history if e.moves_champion]
    assert not last or last[-1].version == stack[-1]

    if len(stack) == 1:
        final = subprocess.run(
            [CENTINELA, "models", "rollback"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert final.returncode == 2 and "no earlier champion" in final.stderr
        return
    final = subprocess.run(
        [CENTINELA, "models", "rollback", "--expect", stack[-1], "--actor", "final"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert final.returncode == 0, final.stderr
    assert f"rolled_back: {settings.model_name} v{stack[-2]} (was v{stack[-1]})" in final.stdout
    assert catalog.alias(CHAMPION) == stack[-2]
    after = catalog.history()
    assert after[:-1] == history
    assert (after[-1].action, after[-1].version, after[-1].actor) == (
        "rollback",
        stack[-2],
        "final",
    )
    events = wait_for_events(
        settings, lambda e: e.event_type in ("promoted", "rolled_back"), count=len(succeeded) + 1
    )
    assert sorted(e.actor for e in events) == sorted([*succeeded, "final"])


def test_concurrent_moves_in_threads_against_the_real_store(
    retrain_settings: Callable[..., Settings],
) -> None:
    """The same through `Review`, ten threads released at once: the claims really collide.
    Two promotions first, so that rollbacks have somewhere to go."""
    settings = retrain_settings()
    catalog = register_models(settings)
    Review(settings, None, actor="setup").promote("2", "first")
    Review(settings, None, actor="setup").promote("3", "second")
    barrier = threading.Barrier(10)

    def act(i: int) -> tuple[str, str]:
        review = Review(settings, None, actor=f"t-{i}")
        barrier.wait()
        try:
            if i % 2:
                review.rollback(f"concurrent {i}")
            else:
                review.promote(str(2 + (i // 2) % 2), f"concurrent {i}")
        except AliasMoveConflictError:
            return f"t-{i}", "conflict"
        except ReviewError as error:
            assert any(text in str(error) for text in REFUSALS), error
            return f"t-{i}", "refused"
        return f"t-{i}", "ok"

    with ThreadPoolExecutor(10) as pool:
        outcomes = dict(pool.map(act, range(10)))
    history = catalog.history()
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    recorded = [e.actor for e in history if e.moves_champion and e.actor != "setup"]
    assert sorted(recorded) == sorted(a for a, kind in outcomes.items() if kind == "ok")
    stack = champions(history)
    assert catalog.alias(CHAMPION) == stack[-1]
    print(f"outcomes: {sorted(outcomes.values())}")


def test_a_number_is_claimed_once_and_the_ledger_is_found_by_every_process(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings()
    register_champion(settings)
    barrier = threading.Barrier(6)

    def claim(i: int) -> tuple[bool, str | None]:
        ledger = MlflowLedger(Catalog(settings))  # each its own catalog, as each process has
        entry = HistoryEntry.now("promote", CHAMPION, "1", previous=None, actor=f"p{i}")
        barrier.wait()
        return ledger.claim(entry.at_seq(1)), ledger._run_id

    with ThreadPoolExecutor(6) as pool:
        claims = list(pool.map(claim, range(6)))
    assert sum(won for won, _ in claims) == 1
    assert (
        len({run_id for _, run_id in claims}) == 1
    )  # the losers of the ledger race use the winner's

    client = MlflowClient(settings.mlflow_tracking_uri)
    pointer = client.get_experiment_by_name(pointer_experiment(settings.model_name))
    assert pointer is not None and pointer.tags[LEDGER_RUN_TAG] == claims[0][1]
    experiment = client.get_experiment_by_name(LEDGER_EXPERIMENT)
    assert experiment is not None
    live = client.search_runs(
        [experiment.experiment_id], f"tags.`centinela.alias_ledger_model` = '{settings.model_name}'"
    )
    assert [run.info.run_id for run in live] == [claims[0][1]]
    # A retried claim of one's own entry succeeds; anyone else's on a taken number fails.
    [entry] = Catalog(settings).history()
    ledger = MlflowLedger(Catalog(settings))
    assert ledger.claim(entry)
    assert not ledger.claim(HistoryEntry.now("rollback", CHAMPION, "1", actor="x").at_seq(1))


def test_the_old_tag_history_is_copied_into_the_ledger_on_the_first_move(
    retrain_settings: Callable[..., Settings],
) -> None:
    settings = retrain_settings()
    catalog = register_models(settings)  # leaves two "register" entries in a new ledger
    name = settings.model_name
    # An older model: its history is still the single tag, and it has no ledger yet.
    old = settings.model_copy(update={"model_name": f"{name}-old"})
    register_champion(old)
    for seed in (2, 3):
        frame, labels = labeled_frame(400, seed=seed)
        train_and_register(
            old,
            "logistic_regression",
            {},
            frame,
            labels,
            tags={},
            run_name=f"c{seed}",
            experiment="centinela-bootstrap",
            alias=None,
            sample_size=100,
        )
    legacy = [
        HistoryEntry.now("promote", CHAMPION, "2", previous="1", actor="ana"),
        HistoryEntry.now("promote", CHAMPION, "3", previous="2", actor="ana"),
    ]
    client = MlflowClient(settings.mlflow_tracking_uri)
    client.set_registered_model_tag(old.model_name, HISTORY_TAG, dump_history(legacy))
    client.set_registered_model_alias(old.model_name, CHAMPION, "3")

    old_catalog = Catalog(old)
    assert [(e.seq, e.version) for e in old_catalog.history()] == [(1, "2"), (2, "3")]
    assert client.get_experiment_by_name(pointer_experiment(old.model_name)) is None  # read only
    Review(old, None, actor="bo").rollback("regression")
    history = Catalog(old).history()
    assert [(e.seq, e.action, e.version, e.actor) for e in history] == [
        (1, "promote", "2", "ana"),
        (2, "promote", "3", "ana"),
        (3, "rollback", "2", "bo"),
    ]
    Review(old, None, actor="bo").rollback("again")
    assert Catalog(old).alias(CHAMPION) == "1"
    # The old tag is left as it was; the other model's ledger is its own.
    assert client.get_registered_model(old.model_name).tags[HISTORY_TAG] == dump_history(legacy)
    assert [e.action for e in catalog.history()] == ["register", "register"]
