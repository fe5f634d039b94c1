"""The named scenarios (``centinela produce --list``).

The default ones use the 20-feature Gaussian source (world 7) so that they match the
performance targets, and put their change points on multiples of 2,000 events: at the default
scenario clock a drift window (``CENTINELA_WINDOW_SECONDS``) holds exactly 2,000 events, so
every change point falls on a window boundary. The ``river-*`` ones use river's generators.

>>> [s.name for s in list_scenarios()][:6]
['stable', 'covariate-sudden', 'covariate-gradual', 'concept-sudden', 'prior-shift', 'mixed']
>>> get_scenario("concept-sudden").first_change
20000
"""

from __future__ import annotations

from producers.drifts import DriftSpec
from producers.exceptions import ScenarioError
from producers.scenario import Scenario
from producers.sources import SourceSpec

EVENTS_PER_WINDOW = 2_000
GAUSSIAN = SourceSpec("gaussian", {"n_features": 20, "n_informative": 5, "world": 7})
CORRELATED = SourceSpec("gaussian", {**GAUSSIAN.params, "correlated": ("x10", "x11"), "rho": 0.8})

_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "stable",
        "20 Gaussian features, one concept, no drift at all (false-alarm baseline)",
        GAUSSIAN,
        default_events=100_000,
    ),
    Scenario(
        "covariate-sudden",
        "x0, x5 and x12 jump by 1 standard deviation at event 20,000; P(y|x) unchanged",
        GAUSSIAN,
        (DriftSpec("covariate", 20_000, features=("x0", "x5", "x12"), shift=1.0),),
    ),
    Scenario(
        "covariate-gradual",
        "x0, x5 and x12 drift by 1 standard deviation, ramping from event 20,000 to 30,000",
        GAUSSIAN,
        (DriftSpec("covariate", 20_000, 10_000, features=("x0", "x5", "x12"), shift=1.0),),
    ),
    Scenario(
        "concept-sudden",
        "the label function turns 60 degrees at event 20,000; inputs unchanged",
        GAUSSIAN,
        (DriftSpec("concept", 20_000, concept=1),),
    ),
    Scenario(
        "prior-shift",
        "class 1 goes from 50% to 80% of events at event 20,000; P(x|y) unchanged",
        GAUSSIAN,
        (DriftSpec("prior", 20_000, share=0.8, target_class=1),),
    ),
    Scenario(
        "mixed",
        "covariate jump (x3, x15) at 20,000; concept turns gradually 40,000-46,000; "
        "class 1 to 75% at 60,000",
        GAUSSIAN,
        (
            DriftSpec("covariate", 20_000, features=("x3", "x15"), shift=1.0),
            DriftSpec("concept", 40_000, 6_000, concept=1),
            DriftSpec("prior", 60_000, share=0.75, target_class=1),
        ),
        default_events=80_000,
    ),
    Scenario(
        "correlation-shift",
        "x10 and x11 correlated +0.8, flipping to -0.8 at event 20,000; every marginal "
        "distribution and P(y|x) unchanged (only the multivariate test can see it)",
        CORRELATED,
        (DriftSpec("correlation", 20_000, features=("x10", "x11"), rho=-0.8),),
    ),
    Scenario(
        "river-agrawal-concept",
        "river Agrawal, classification function 0 -> 2 via ConceptDriftStream around 20,000",
        SourceSpec(
            "concept_drift_stream",
            {
                "base": "agrawal",
                "base.classification_function": 0,
                "drift": "agrawal",
                "drift.classification_function": 2,
                "position": 20_000,
                "width": 200,
            },
        ),
    ),
    Scenario(
        "river-sea-concept",
        "river SEA, variant 0 -> 3 via ConceptDriftStream around 20,000 (3 features)",
        SourceSpec(
            "concept_drift_stream",
            {"base": "sea", "drift": "sea", "drift.variant": 3, "position": 20_000, "width": 200},
        ),
    ),
    Scenario(
        "river-hyperplane",
        "river Hyperplane, 20 features, 5 of them drifting incrementally from the start",
        SourceSpec("hyperplane", {"n_features": 20, "n_drift_features": 5, "mag_change": 0.001}),
    ),
    Scenario(
        "river-rbf-drift",
        "river RandomRBFDrift, 20 features, 10 of 50 centroids moving from the start",
        SourceSpec(
            "rbf_drift", {"n_features": 20, "change_speed": 0.0001, "n_drift_centroids": 10}
        ),
    ),
)


def list_scenarios() -> list[Scenario]:
    return list(_SCENARIOS)


def get_scenario(name: str) -> Scenario:
    for scenario in _SCENARIOS:
        if scenario.name == name:
            return scenario
    raise ScenarioError(
        f"unknown scenario {name!r}; known: {', '.join(s.name for s in _SCENARIOS)} "
        "(see `centinela produce --list`)"
    )
