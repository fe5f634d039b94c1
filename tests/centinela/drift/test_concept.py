"""ConceptMonitor: exact detection indices on seeded error streams (river style)."""

from __future__ import annotations

import random

import pytest

from centinela.drift.concept import DETECTORS, ConceptMonitor
from centinela.drift.exceptions import UnknownTestError


def _errors(seed: int, before: float, after: float, n: int = 2000) -> list[int]:
    rng = random.Random(seed)
    return [int(rng.random() < before) for _ in range(n)] + [
        int(rng.random() < after) for _ in range(n)
    ]


@pytest.mark.parametrize(
    "name,expected",
    [("adwin", [2143]), ("ddm", [2073]), ("page_hinkley", [2211]), ("kswin", [2182])],
)
def test_error_rate_rise_is_detected_at_the_same_index_fed_in_windows(
    name: str, expected: list[int]
) -> None:
    errors = _errors(1, 0.1, 0.3)  # the change is at 2000
    monitor = ConceptMonitor(name)
    flags = [monitor.update(errors[k : k + 500]) for k in range(0, 4000, 500)]
    assert monitor.detections == expected
    assert flags == [k == expected[0] // 500 for k in range(8)]
    assert monitor.n_seen == 4000
    one_go = ConceptMonitor(name)
    one_go.update(errors)
    assert one_go.detections == expected  # window boundaries do not change the result


@pytest.mark.parametrize(
    "name,expected",
    # DDM is known to fire early on short histories (its minimum is taken after 30 errors)
    [("adwin", []), ("ddm", [176]), ("page_hinkley", []), ("kswin", [])],
)
def test_stable_error_stream(name: str, expected: list[int]) -> None:
    monitor = ConceptMonitor(name)
    monitor.update(_errors(2, 0.1, 0.1))
    assert monitor.detections == expected


@pytest.mark.parametrize(
    "name,both_ways", [("adwin", [2111]), ("ddm", []), ("page_hinkley", []), ("kswin", [2134])]
)
def test_a_model_getting_better_is_not_drift(name: str, both_ways: list[int]) -> None:
    errors = _errors(3, 0.3, 0.05)
    rising_only = ConceptMonitor(name)
    rising_only.update(errors)
    assert rising_only.detections == []
    either = ConceptMonitor(name, increase_only=False)
    either.update(errors)
    assert either.detections == both_ways


def test_drift_detected_property_and_parameters() -> None:
    monitor = ConceptMonitor("adwin", delta=0.5)
    monitor.update([0] * 300 + [1] * 100)
    assert monitor.detections and monitor.detections[0] < 330  # a loose delta fires fast
    monitor.update([0])
    assert not monitor.drift_detected
    assert DETECTORS == ("adwin", "ddm", "page_hinkley", "kswin")


def test_unknown_detector_is_named() -> None:
    with pytest.raises(UnknownTestError, match="hddm"):
        ConceptMonitor("hddm")


def test_ks_window_detects_exactly_where_river_kswin_does() -> None:
    from river import drift

    from centinela.drift.concept import KSWindow

    rng = random.Random(9)
    values = [rng.random() * (1.0 if i < 700 else 1.6) for i in range(1400)]
    found = []
    for detector in (
        drift.KSWIN(seed=5, window_size=300, stat_size=50, alpha=0.01),
        KSWindow(seed=5, window_size=300, stat_size=50, alpha=0.01),
    ):
        hits = []
        for i, value in enumerate(values):
            detector.update(value)
            if detector.drift_detected:
                hits.append(i)
        found.append(hits)
    assert found[0] == found[1] and found[0]


@pytest.mark.parametrize("increase_only", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_adwin_on_its_window_detects_where_river_s_adwin_does(
    seed: int, increase_only: bool
) -> None:
    """The ADWIN loop that calls river's window object directly against the one that goes
    through river's ``ADWIN`` class, error by error, over rises, falls and repeated changes
    (each detection restarts the window)."""
    rng = random.Random(seed)
    rates = [rng.choice([0.02, 0.1, 0.3, 0.5]) for _ in range(8)]
    errors = [int(rng.random() < rate) for rate in rates for _ in range(rng.randint(300, 3000))]
    direct = ConceptMonitor("adwin", increase_only=increase_only)
    through_river = ConceptMonitor("adwin", increase_only=increase_only)
    for start in range(0, len(errors), 1000):
        assert direct.update(errors[start : start + 1000]) == through_river._update_each(
            errors[start : start + 1000]
        )
    assert direct.detections == through_river.detections
    assert direct._detector.estimation == through_river._detector.estimation
