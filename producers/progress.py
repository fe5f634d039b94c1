"""Progress of a long run on the terminal (rich): events sent, rate, labels sent and pending."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

_REFRESH_SECONDS = 0.25


class RunProgress:
    """A progress bar (or a spinner-like line without a total); silent when disabled."""

    def __init__(self, total: int | None, *, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self._last = 0.0
        self._started = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]producing[/]"),
            BarColumn(bar_width=24),
            TextColumn("{task.completed:,.0f}{task.fields[of]} events"),
            TextColumn("{task.fields[rate]:,.0f} ev/s"),
            TextColumn("labels {task.fields[labels]:,} sent, {task.fields[pending]:,} pending"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
            disable=not enabled,
        )
        self._task: TaskID = self._progress.add_task(
            "produce", total=total, of=f" / {total:,}" if total else "", rate=0.0, labels=0,
            pending=0,
        )  # fmt: skip

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.enabled:
            self._progress.stop()

    def update(self, events: int, labels: int, pending: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < _REFRESH_SECONDS:
            return
        self._last = now
        rate = events / max(now - self._started, 1e-9)
        self._progress.update(
            self._task, completed=events, rate=rate, labels=labels, pending=pending
        )
