"""Saying so, loudly, when most of a batch is older than the windows already closed.

Such events are scored but counted in no window, so no drift can be seen in them; the usual
cause is a replay of older event times on topics that saw later ones. The share of the last
batch, the running total and the warning are on /status; the warning is logged at most once a
minute.

>>> watch = LatenessWatch()
>>> watch.observe(events=100, late=90); watch.share, watch.total, watch.warning is not None
(0.9, 90, True)
>>> watch.observe(events=100, late=10); watch.warning is None
True
"""

from __future__ import annotations

import logging
import math
import time

log = logging.getLogger(__name__)

LATE_MIN_EVENTS = 20  # fewer events in a batch say too little about lateness
WARN_EVERY_SECONDS = 60.0

WARNING = (
    "{late} of {events} events in the last batch are older than the windows already "
    "closed: they are scored but counted in no window, so no drift can be seen in "
    "them. Likely cause: older event times replayed on topics that saw later ones "
    "(say, a second `centinela produce` on the same topics). Fix: a new "
    "CENTINELA_TOPIC_PREFIX for a replay, or a larger CENTINELA_ALLOWED_LATENESS_SECONDS."
)


class LatenessWatch:
    """The late events of the batches seen, and a warning while most of a batch is late."""

    def __init__(self) -> None:
        self.total = 0
        self.share = 0.0  # of the last batch of at least LATE_MIN_EVENTS events
        self.warning: str | None = None
        self._last_warned = -math.inf

    def observe(self, events: int, late: int) -> None:
        self.total += late
        if events < LATE_MIN_EVENTS:
            return
        self.share = late / events
        if self.share <= 0.5:
            self.warning = None
            return
        self.warning = WARNING.format(late=late, events=events)
        now = time.monotonic()
        if now - self._last_warned >= WARN_EVERY_SECONDS:
            self._last_warned = now
            log.warning("%s", self.warning)
