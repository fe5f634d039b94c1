"""Event time: a scenario clock at a nominal rate, wall time, or the data's own time column.

With the scenario clock event ``i`` happens at ``epoch + i / nominal_rate`` however fast the
run goes, so change points land at the same event times and in the same drift windows on
every run. The default epoch is fixed per seed and aligned to a window boundary.

>>> clock = EventClock.scenario(seed=0, nominal_rate=100.0, window_seconds=20.0)
>>> clock.describe()["epoch"]
'2026-01-01T00:00:00+00:00'
>>> [str(t) for t in clock.times(np.array([0, 2000]))]
['2026-01-01T00:00:00.000000', '2026-01-01T00:00:20.000000']
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np

ClockKind = Literal["scenario", "wall", "data"]
BASE_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_MICROS = 1_000_000


@dataclass(frozen=True)
class EventClock:
    kind: ClockKind
    epoch: datetime = BASE_EPOCH
    nominal_rate: float = 100.0

    @classmethod
    def scenario(
        cls,
        *,
        seed: int,
        nominal_rate: float,
        window_seconds: float,
        epoch: datetime | None = None,
    ) -> EventClock:
        if epoch is None:
            # Within 1,000 hours of the base, whatever the seed: always in the past, so that the
            # stream's default time bounds (an hour ahead of its clock at most) accept it.
            epoch = BASE_EPOCH + timedelta(hours=seed % 1_000)
        return cls("scenario", align(epoch, window_seconds), nominal_rate)

    def times(self, indices: np.ndarray, *, rate: float = 0.0) -> np.ndarray:
        """Event times (datetime64[us], UTC) for events ``indices``.

        With the wall clock the events of one send tick are spread over the tick's past
        ``len / rate`` seconds (all "now" when the rate is unlimited).
        """
        if self.kind == "scenario":
            offsets = np.round(indices * (_MICROS / self.nominal_rate)).astype(np.int64)
            return _to_datetime64(self.epoch) + offsets.astype("timedelta64[us]")
        now = np.datetime64(int(time.time() * _MICROS), "us")
        if rate <= 0:
            return np.full(len(indices), now)
        back = np.round((len(indices) - 1 - np.arange(len(indices))) * (_MICROS / rate))
        return now - back.astype(np.int64).astype("timedelta64[us]")

    def describe(self) -> dict[str, Any]:
        if self.kind != "scenario":
            return {"kind": self.kind}
        return {
            "kind": self.kind,
            "epoch": self.epoch.isoformat(),
            "nominal_rate": self.nominal_rate,
        }


def align(moment: datetime, window_seconds: float) -> datetime:
    """``moment`` floored to a multiple of ``window_seconds`` since the Unix epoch."""
    seconds = moment.timestamp()
    floored = math.floor(seconds / window_seconds) * window_seconds
    return datetime.fromtimestamp(floored, UTC)


def seconds_of(times: np.ndarray) -> np.ndarray:
    """datetime64[us] to float seconds since the Unix epoch."""
    return times.astype("datetime64[us]").astype(np.int64) / _MICROS


def _to_datetime64(moment: datetime) -> np.datetime64:
    return np.datetime64(round(moment.timestamp() * _MICROS), "us")
