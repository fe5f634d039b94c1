"""Plain-text views of the review flow for a terminal (``--json`` prints the dicts instead)."""

from __future__ import annotations

from retrain.evaluation import LOWER_IS_BETTER, Comparison
from retrain.history import HistoryEntry
from retrain.review import ModelStatus, VersionInfo


def render_status(status: ModelStatus) -> str:
    lines = [f"model {status.model}"]
    lines.append(_line("champion", status.champion))
    lines.append(_line("challenger", status.challenger))
    if status.challenger and status.challenger.comparison:
        lines.append(f"{'':12}{_deltas(status.challenger.comparison)}")
    if status.previous:
        earlier = ", ".join(f"v{info.version}" for info in status.previous)
        lines.append(f"{'previous':<12}{earlier} (most recent first; `models rollback` restores)")
        lines.extend(_line("", info) for info in status.previous)
    lines.append(
        "(metrics: each version's own validation figures; `models compare` has both models on "
        "the challenger's hold-out)"
    )
    if status.history:
        lines.append("recent moves:")
        lines.extend(f"  {render_move(entry)}" for entry in reversed(status.history))
    return "\n".join(lines)


def render_move(entry: HistoryEntry) -> str:
    """
    >>> render_move(HistoryEntry("2026-01-01T00:00:00+00:00", "promote", "champion", "3",
    ...                          previous="2", actor="ana", reason="better f1"))
    '2026-01-01T00:00:00+00:00  promote   champion -> v3 (was v2) by ana: better f1'
    """
    was = f" (was v{entry.previous})" if entry.previous else ""
    why = f": {entry.reason}" if entry.reason else ""
    move = f"{entry.action:<9} {entry.alias} -> v{entry.version}{was}"
    return f"{entry.at}  {move} by {entry.actor}{why}"


def render_comparison(champion: VersionInfo | None, challenger: VersionInfo) -> str:
    rows = _holdout_rows(champion, challenger)
    if challenger.canary_stopped:
        rows.append(f"canary: {challenger.canary_stopped}")
    return "\n".join(rows)


def _holdout_rows(champion: VersionInfo | None, challenger: VersionInfo) -> list[str]:
    comparison = challenger.comparison
    if comparison is None:
        return [f"challenger v{challenger.version} carries no hold-out comparison"]
    compared_with = comparison.champion_version or challenger.parent_version or "?"
    rows = [
        f"{'metric':<26}{'champion v' + compared_with:>14}"
        f"{'challenger v' + challenger.version:>16}{'delta':>10}"
    ]
    for name in comparison.metrics():
        label = f"{name} (lower is better)" if name in LOWER_IS_BETTER else name
        rows.append(
            f"{label:<26}{comparison.champion[name]:>14.4f}"
            f"{comparison.challenger[name]:>16.4f}{comparison.deltas()[name]:>+10.4f}"
        )
    rows.append(f"hold-out: {comparison.n_holdout:,} of the most recent labeled examples")
    if comparison.gate_passed is not None:
        verdict = "passed" if comparison.gate_passed else "failed"
        rows.append(f"MLflow promotion gate {verdict}: {comparison.gate_reason}")
    if challenger.request_id:
        rows.append(f"trained for retrain request {challenger.request_id}")
    if champion is not None and champion.version != compared_with:
        rows.append(
            f"note: compared against v{compared_with}, the champion when the challenger was "
            f"trained; the champion is now v{champion.version}"
        )
    return rows


def _line(role: str, info: VersionInfo | None) -> str:
    if info is None:
        return f"{role:<12}-"
    metrics = "  ".join(f"{name} {value:.4f}" for name, value in info.metrics.items())
    review = f"  [{info.review}]" if info.review else ""
    return (
        f"{role:<12}v{info.version:<5}{info.trainer or '?':<24}{metrics}"
        f"  created {info.created_at}{review}"
    )


def _deltas(comparison: Comparison) -> str:
    parts = "  ".join(f"{name} {delta:+.4f}" for name, delta in comparison.deltas().items())
    champion = comparison.champion_version or "?"
    return f"vs champion v{champion} on {comparison.n_holdout:,} hold-out rows: {parts}"
