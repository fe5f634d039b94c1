"""Stage timings a person can read: ``read 1.2 s · validate 0.1 s · train 3.4 s ...``.

>>> clock = StageClock("r-1")
>>> with clock.stage("read"):
...     pass
>>> list(clock.seconds)
['read']
>>> clock.summary().startswith("r-1: read ")
True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class StageClock:
    """Times the named stages of one retrain and logs each as it starts and ends."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.seconds: dict[str, float] = {}
        self._started = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s: %s ...", self.label, name)
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
            log.info("%s: %s done in %.2f s", self.label, name, elapsed)

    @property
    def total(self) -> float:
        return time.perf_counter() - self._started

    def as_metrics(self) -> dict[str, float]:
        """The timings as MLflow metric names (``stage_read_s`` ...)."""
        return {f"stage_{name}_s": round(value, 4) for name, value in self.seconds.items()}

    def summary(self) -> str:
        parts = " · ".join(f"{name} {value:.2f} s" for name, value in self.seconds.items())
        return f"{self.label}: {parts} · total {self.total:.2f} s"
