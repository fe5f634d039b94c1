"""Command-line specifications of sources and drifts.

A source is ``NAME[:key=value,...]``; a drift is ``KIND@START[+WIDTH][~UNTIL][:key=value,...]``
with lists separated by ``/``. Values become int, float, bool or str.

>>> parse_source("agrawal:classification_function=3").params
{'classification_function': 3}
>>> drift = parse_drift("covariate@20000+5000:features=x0/x5,shift=1.5")
>>> drift.kind, drift.start, drift.width, drift.features, drift.shift
('covariate', 20000, 5000, ('x0', 'x5'), 1.5)
>>> parse_drift("prior@1000~3000:share=0.9,target_class=1").until
3000
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from producers.drifts import DRIFT_KINDS, DriftSpec
from producers.exceptions import ScenarioError
from producers.sources import SourceSpec

_DRIFT = re.compile(r"^(?P<kind>[a-z]+)@(?P<start>\d+)(\+(?P<width>\d+))?(~(?P<until>\d+))?$")
_DRIFT_FIELDS = {f.name for f in fields(DriftSpec)} - {"kind", "start", "width", "until"}


def parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_pairs(text: str, what: str) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"{what}: expected key=value, got {item!r}")
        pairs[key.strip()] = parse_value(value.strip())
    return pairs


def parse_source(text: str) -> SourceSpec:
    name, _, rest = text.partition(":")
    return SourceSpec(name.strip(), parse_pairs(rest, f"source {text!r}"))


def parse_drift(text: str) -> DriftSpec:
    head, _, rest = text.partition(":")
    match = _DRIFT.match(head.strip())
    if not match:
        raise ScenarioError(
            f"drift {text!r}: expected KIND@START[+WIDTH][~UNTIL][:key=value,...] with KIND one "
            f"of {', '.join(DRIFT_KINDS)}, e.g. covariate@20000+5000:features=x0/x5,shift=1"
        )
    params = parse_pairs(rest, f"drift {text!r}")
    unknown = sorted(set(params) - _DRIFT_FIELDS)
    if unknown:
        raise ScenarioError(
            f"drift {text!r}: unknown parameter {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_DRIFT_FIELDS))}"
        )
    if "features" in params:
        params["features"] = tuple(str(params["features"]).split("/"))
    for key, kind in (
        ("shift", float),
        ("scale", float),
        ("share", float),
        ("concept", int),
        ("rho", float),
    ):
        if key in params:
            try:
                params[key] = kind(params[key])
            except (TypeError, ValueError):
                raise ScenarioError(f"drift {text!r}: {key} must be a number") from None
    return DriftSpec(
        kind=match["kind"],  # type: ignore[arg-type]  # checked by DriftSpec
        start=int(match["start"]),
        width=int(match["width"] or 0),
        until=int(match["until"]) if match["until"] else None,
        **params,
    )
