"""Late arrivals are never silent: an event or a joined label for a window already closed is
counted in the report of the window open when it came, and a restore counts the same."""

from __future__ import annotations

from stream import blob_json
from stream.changelog import read_groups
from stream.sink import changelog_rows
from tests.stream.stream_data import at, event_bytes, label_bytes
from tests.stream.test_pipeline import Log, champion, events, new_pipeline, run

__all__ = ["champion"]  # the module fixture, shared with the pipeline tests


def late_counts(closes: list) -> dict[int, tuple[int, int]]:
    found = {}
    for close in closes:
        for window in blob_json.loads(close.encode())["windows"]:
            summary = window["summary"]
            found[window["window_id"]] = (summary["late_events"], summary["late_outcomes"])
    return found


def test_a_late_event_and_a_late_label_count_in_the_next_report(champion):
    pipeline, log = new_pipeline(champion, [0]), Log()
    batch = events(1500, spacing=0.01)  # 15 s: windows of 10 s, lateness 2 s
    first = batch[0]
    feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in batch[1:]]
    out = run(pipeline, champion, {0: feats})
    closes = list(out.closes)
    state = pipeline.states[0]
    assert state.windows.closed_through is not None  # window 0 (0-10 s) closed at 12 s
    # The first event comes last, after its window closed; a label for event 5 (at 0.05 s,
    # labeled at 0.5 s) too.
    straggler = log.message("features", 0, first[0], event_bytes(first[0], at(first[1]), first[2]))
    label = log.message("labels", 0, "e-5", label_bytes("e-5", 1, at(0.5)))
    out = run(pipeline, champion, {0: [straggler]}, {0: [label]})
    assert (out.stats.late_events, out.stats.late_outcomes) == (1, 1)
    closes += out.closes
    out = pipeline.tick(idle=lambda p: True, labels_caught_up=lambda p: True)
    closes += out.closes
    counts = late_counts(closes)
    newest = state.windows.window_of(at(batch[-1][1]).timestamp())
    assert counts[newest] == (1, 1)
    assert sum(e for e, _ in counts.values()) == 1 and sum(o for _, o in counts.values()) == 1


def test_a_restore_counts_late_arrivals_as_the_live_worker_did(champion):
    live, log = new_pipeline(champion, [0]), Log()
    batch = events(1500, spacing=0.01)
    rows = []
    feats = [log.message("features", 0, e, event_bytes(e, at(t), f)) for e, t, f in batch[1:]]
    rows += changelog_rows(run(live, champion, {0: feats}).changelog[0])
    e, t, f = batch[0]
    out = run(live, champion, {0: [log.message("features", 0, e, event_bytes(e, at(t), f))]})
    rows += changelog_rows(out.changelog[0])
    restored = new_pipeline(champion, [])
    state = restored.restore(0, list(read_groups(value for _, value in rows)))
    live_open = {
        key: (s.summary.late_events, s.summary.late_outcomes) for key, s in live.states[0].windows
    }
    assert {
        key: (s.summary.late_events, s.summary.late_outcomes) for key, s in state.windows
    } == live_open
    assert sum(e for e, _ in live_open.values()) == 1
