"""How long after its event a label arrives: fixed or drawn from a distribution, in events or
seconds of event time.

A spec reads ``fixed:500``, ``exponential:500`` (mean), ``uniform:100,1000`` or
``lognormal:2,0.5`` (median, sigma); a bare number means fixed.

>>> delay = LabelDelay.parse("uniform:10,20", unit="seconds")
>>> delay.describe()
{'distribution': 'uniform', 'unit': 'seconds', 'params': [10.0, 20.0], 'mean': 15.0}
>>> values = delay.sample(np.random.default_rng(0), 1000)
>>> bool(values.min() >= 10 and values.max() <= 20)
True
>>> LabelDelay.parse("500").sample(np.random.default_rng(0), 3).tolist()
[500.0, 500.0, 500.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from producers.exceptions import ScenarioError

DelayUnit = Literal["events", "seconds"]
_ARITY = {"fixed": 1, "exponential": 1, "uniform": 2, "lognormal": 2}


@dataclass(frozen=True)
class LabelDelay:
    distribution: str = "fixed"
    params: tuple[float, ...] = (0.0,)
    unit: DelayUnit = "events"

    @classmethod
    def parse(cls, text: str, *, unit: DelayUnit = "events") -> LabelDelay:
        name, _, args = text.partition(":")
        if not args:
            name, args = "fixed", text
        name = {"exp": "exponential"}.get(name.strip(), name.strip())
        if name not in _ARITY:
            raise ScenarioError(
                f"label delay {text!r}: distribution must be one of {', '.join(_ARITY)}"
            )
        try:
            params = tuple(float(part) for part in args.split(","))
        except ValueError:
            raise ScenarioError(f"label delay {text!r}: parameters must be numbers") from None
        if len(params) != _ARITY[name]:
            raise ScenarioError(f"label delay {text!r}: {name} takes {_ARITY[name]} number(s)")
        if any(p < 0 or not math.isfinite(p) for p in params) or (
            name == "uniform" and params[0] > params[1]
        ):
            raise ScenarioError(f"label delay {text!r}: parameters must be finite, >= 0, ordered")
        return cls(name, params, unit)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        a = self.params[0]
        if self.distribution == "fixed":
            return np.full(n, a)
        if self.distribution == "exponential":
            return rng.exponential(a, n) if a > 0 else np.zeros(n)
        if self.distribution == "uniform":
            return rng.uniform(a, self.params[1], n)
        return rng.lognormal(math.log(max(a, 1e-12)), self.params[1], n)

    @property
    def mean(self) -> float:
        a = self.params[0]
        if self.distribution == "uniform":
            return (a + self.params[1]) / 2
        if self.distribution == "lognormal":
            return a * math.exp(self.params[1] ** 2 / 2)
        return a

    def describe(self) -> dict[str, Any]:
        return {
            "distribution": self.distribution,
            "unit": self.unit,
            "params": list(self.params),
            "mean": self.mean,
        }
