"""Challenger against champion on the same live labeled events, with evidence that stays valid
however often it is looked at.

Each labeled event that both models scored gives a paired difference of their 0/1 losses,
``d = champion_error - challenger_error`` in {-1, 0, +1}: +1 where only the champion was
wrong. Its mean ``m`` is the challenger's accuracy minus the champion's. A fixed-sample test
checked after every window would, over many windows, cry "better" or "worse" far more often
than its level; this one is a test by betting (Waudby-Smith and Ramdas, "Estimating means of
bounded random variables by betting", JRSS B 2024): for a candidate mean ``m`` the wealth

    K_t(m) = mean over bets b of  prod_i (1 + b * (d_i - m))

is, when the true mean is ``m``, an average of nonnegative martingales that start at 1, so by
Ville's inequality it ever reaches ``1 / alpha`` with probability at most ``alpha``: the
verdict can be checked after every window, forever, at level ``alpha``. The bets are a fixed
grid of both signs (a mixture, so no direction is favoured), each small enough that every
factor stays positive for any ``m`` in [-1, 1]. The confidence sequence for ``m`` is every grid
value whose wealth is below ``1 / alpha``; "better" when it lies above 0, "worse" below, and
"not yet known" while it holds 0.

With fixed bets the wealth depends only on how many differences were -1, 0 and +1, so the
whole state is three counts: it is persisted, merged across partitions and restored exactly.

>>> comparison = LiveComparison()
>>> comparison.update(champion_errors=[1] * 300 + [0] * 700, challenger_errors=[0] * 1000)
>>> comparison.verdict(), comparison.n
('better', 1000)
>>> low, high = comparison.interval()
>>> 0 < low < 0.3 < high
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Verdict = Literal["better", "worse", "not yet known"]

# Bet sizes: the largest keeps 1 + b * (d - m) > 0 for d, m in [-1, 1] (|b| < 1/2).
BETS = np.array([0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.45])
SIGNED_BETS = np.concatenate([BETS, -BETS])[:, None]
MEANS = np.linspace(-1.0, 1.0, 2001)  # candidate means, 0.001 apart
DEFAULT_ALPHA = 0.05


@dataclass
class LiveComparison:
    """Counts of paired loss differences and the always-valid verdict they support."""

    alpha: float = DEFAULT_ALPHA
    challenger_only_right: int = 0  # d = +1: the champion erred, the challenger did not
    both_same: int = 0  # d = 0
    champion_only_right: int = 0  # d = -1
    _log_factors: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), not {self.alpha}")
        with np.errstate(divide="ignore"):
            self._log_factors = np.stack(  # [bet, mean] log(1 + b (d - m)) for d = +1, 0, -1
                [np.log1p(SIGNED_BETS * (d - MEANS[None, :])) for d in (1.0, 0.0, -1.0)]
            )

    @property
    def n(self) -> int:
        return self.challenger_only_right + self.both_same + self.champion_only_right

    def update(self, champion_errors: Sequence[int], challenger_errors: Sequence[int]) -> None:
        """Add the paired 0/1 errors of events both models scored (same order)."""
        champion = np.asarray(champion_errors, dtype=np.int8)
        challenger = np.asarray(challenger_errors, dtype=np.int8)
        if champion.shape != challenger.shape:
            raise ValueError("the two models' errors must be paired, event by event")
        difference = champion - challenger
        self.challenger_only_right += int(np.count_nonzero(difference == 1))
        self.champion_only_right += int(np.count_nonzero(difference == -1))
        self.both_same += int(np.count_nonzero(difference == 0))

    def merge(self, other: LiveComparison) -> None:
        """Add another partition's counts (the wealth is a function of the counts)."""
        self.challenger_only_right += other.challenger_only_right
        self.both_same += other.both_same
        self.champion_only_right += other.champion_only_right

    def difference(self) -> float | None:
        """The observed accuracy difference, challenger minus champion."""
        if not self.n:
            return None
        return (self.challenger_only_right - self.champion_only_right) / self.n

    def log_wealth(self) -> np.ndarray:
        """log K_t(m) for every candidate mean in :data:`MEANS`."""
        counts = np.array([self.challenger_only_right, self.both_same, self.champion_only_right])
        with np.errstate(invalid="ignore"):  # 0 * -inf: no event of a kind a bet would lose all on
            per_bet = np.nansum(counts[:, None, None] * self._log_factors, axis=0)
        top = per_bet.max(axis=0)
        return top + np.log(np.exp(per_bet - top).mean(axis=0))

    def interval(self) -> tuple[float, float]:
        """The confidence sequence for the accuracy difference, at level ``1 - alpha``."""
        kept = MEANS[self.log_wealth() < np.log(1 / self.alpha)]
        if not kept.size:  # cannot happen for counts from real pairs; say so if it does
            raise ArithmeticError("every candidate mean was rejected")
        return float(kept.min()), float(kept.max())

    def verdict(self) -> Verdict:
        low, high = self.interval()
        if low > 0:
            return "better"
        if high < 0:
            return "worse"
        return "not yet known"

    def to_dict(self) -> dict[str, float | int | str | None]:
        low, high = self.interval()
        return {
            "events": self.n,
            "challenger_only_right": self.challenger_only_right,
            "champion_only_right": self.champion_only_right,
            "both_same": self.both_same,
            "difference": self.difference(),
            "interval_low": low,
            "interval_high": high,
            "alpha": self.alpha,
            "verdict": self.verdict(),
        }
