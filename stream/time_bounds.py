"""Which event and label times a worker accepts: not too far ahead of its clock, not too old.

An event's time decides its window and moves its partition's watermark. One event dated in the
year 3000 would move the watermark a millennium ahead (every later window closed, every later
event late, and the watermark is in the changelog, so a restart keeps it); one dated in the year
9999 makes the window's end unrepresentable. Such times go to dead-letter as
``time_out_of_range`` before they reach any state.

>>> bounds = TimeBounds(max_ahead_seconds=60.0, max_age_seconds=3600.0, clock=lambda: 10_000.0)
>>> lo, hi = bounds.limits()
>>> lo, hi
(6400.0, 10060.0)
>>> bounds.problem(20_000.0, lo, hi)[:48]
'time 20000.0 is 10000 s ahead of the worker cloc'
>>> bounds.problem(9_000.0, lo, hi) is None
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TIME_OUT_OF_RANGE = "time_out_of_range"


@dataclass(frozen=True)
class TimeBounds:
    """The accepted range of event times, relative to ``clock`` (seconds since the epoch)."""

    max_ahead_seconds: float = 3600.0
    max_age_seconds: float = 10 * 365 * 86400.0
    clock: Callable[[], float] = time.time

    @classmethod
    def from_settings(cls, settings: Any) -> TimeBounds:
        return cls(settings.event_time_max_ahead_seconds, settings.event_time_max_age_seconds)

    def limits(self) -> tuple[float, float]:
        """The lowest and highest accepted time now (read once per batch)."""
        now = self.clock()
        return now - self.max_age_seconds, now + self.max_ahead_seconds

    def problem(self, moment: float, lo: float, hi: float) -> str | None:
        """Why ``moment`` is refused, or None if it is within ``[lo, hi]``."""
        if lo <= moment <= hi:
            return None
        if moment > hi:
            ahead = moment - (hi - self.max_ahead_seconds)
            return (
                f"time {moment} is {ahead:.0f} s ahead of the worker clock (limit "
                f"{self.max_ahead_seconds:.0f} s, CENTINELA_EVENT_TIME_MAX_AHEAD_SECONDS)"
            )
        age = (lo + self.max_age_seconds) - moment
        return (
            f"time {moment} is {age:.0f} s old (limit {self.max_age_seconds:.0f} s, "
            "CENTINELA_EVENT_TIME_MAX_AGE_SECONDS)"
        )
