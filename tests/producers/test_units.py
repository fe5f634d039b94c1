"""Pure producer logic: drifts, delays, specs, clock, queue, ids, catalogue (no broker).

The encoded documents are held to the records in
tests/centinela/contract/test_codec_equivalence.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from centinela.contract.codec import generated_ids
from centinela.exceptions import CentinelaError
from producers.catalogue import EVENTS_PER_WINDOW, get_scenario, list_scenarios
from producers.clock import EventClock
from producers.delays import LabelDelay
from producers.drifts import DriftSpec, rotate_classes
from producers.due_queue import DueQueue
from producers.exceptions import ScenarioError
from producers.scenario import BLOCK_SIZE, Scenario, ScenarioStream, pre_drift_frame
from producers.sources import GaussianSource, SourceSpec
from producers.specs import parse_drift, parse_source

GAUSS = SourceSpec("gaussian", {"n_features": 6, "n_informative": 3, "world": 1})


def _collect(stream: ScenarioStream, blocks: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    parts = [stream.next_block() for _ in range(blocks)]
    assert all(p is not None for p in parts)
    features = {n: np.concatenate([p.features[n] for p in parts]) for n in stream.feature_names}  # type: ignore[union-attr]
    return features, np.concatenate([p.labels for p in parts])  # type: ignore[union-attr]


def test_the_catalogue_has_the_promised_names_with_window_aligned_change_points() -> None:
    names = [s.name for s in list_scenarios()]
    for wanted in ("stable", "covariate-sudden", "covariate-gradual", "concept-sudden",
                   "prior-shift", "mixed"):  # fmt: skip
        assert wanted in names
        scenario = get_scenario(wanted)
        stream = ScenarioStream(scenario, seed=0)
        assert len(stream.feature_names) == 20
        for drift in scenario.drifts:
            assert drift.start % EVENTS_PER_WINDOW == 0 and drift.end % EVENTS_PER_WINDOW == 0
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        get_scenario("nope")


def test_the_same_seed_gives_the_same_events_and_another_seed_does_not() -> None:
    scenario = get_scenario("mixed")
    first, labels_a = _collect(ScenarioStream(scenario, seed=5), 3)
    again, labels_b = _collect(ScenarioStream(scenario, seed=5), 3)
    other, _ = _collect(ScenarioStream(scenario, seed=6), 3)
    assert np.array_equal(first["x0"], again["x0"]) and np.array_equal(labels_a, labels_b)
    assert not np.array_equal(first["x0"], other["x0"])


def test_sudden_covariate_shift_moves_the_mean_by_shift_sd_exactly_at_the_index() -> None:
    start = 5 * BLOCK_SIZE + 300  # not on a block boundary on purpose
    scenario = Scenario(
        "t", "", GAUSS, (DriftSpec("covariate", start, features=("x1",), shift=2.0),)
    )
    features, _ = _collect(ScenarioStream(scenario, seed=1), 12)
    mean, sd = GaussianSource(world=1, n_features=6, n_informative=3).feature_stats()["x1"]
    before, after = features["x1"][:start], features["x1"][start:]
    assert abs(before.mean() - mean) < 0.1 * sd
    assert abs(after.mean() - (mean + 2.0 * sd)) < 0.1 * sd
    untouched = features["x2"]
    assert abs(untouched[start:].mean() - untouched[:start].mean()) < 0.15 * untouched.std()


def test_gradual_shift_ramps_linearly_over_its_width() -> None:
    drift = DriftSpec("covariate", 1000, 2000, features=("x0",), shift=1.0, until=5000)
    alpha = drift.alpha(np.array([999, 1000, 2000, 3000, 4999, 5000]))
    assert alpha.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0, 0.0]
    assert drift.describe()["mode"] == "gradual"


def test_prior_shift_changes_the_class_share_and_keeps_p_x_given_y() -> None:
    scenario = Scenario("t", "", GAUSS, (DriftSpec("prior", 10_000, share=0.8, target_class=1),))
    features, labels = _collect(ScenarioStream(scenario, seed=3), 20)
    assert abs(labels[:10_000].mean() - 0.5) < 0.03
    assert abs(labels[10_000:].mean() - 0.8) < 0.03
    x0 = features["x0"]
    ones_before = x0[:10_000][labels[:10_000] == 1].mean()
    ones_after = x0[10_000:][labels[10_000:] == 1].mean()
    assert abs(ones_before - ones_after) < 0.1


def test_concept_change_relabels_some_rows_and_keeps_inputs() -> None:
    base = Scenario("t", "", GAUSS)
    drifted = base.with_drifts((DriftSpec("concept", 4000, concept=1),))
    f0, y0 = _collect(ScenarioStream(base, seed=2), 8)
    f1, y1 = _collect(ScenarioStream(drifted, seed=2), 8)
    assert np.array_equal(f0["x0"], f1["x0"])
    assert np.array_equal(y0[:4000], y1[:4000])
    disagreement = (y0[4000:] != y1[4000:]).mean()
    assert 0.15 < disagreement < 0.5  # 60 degrees apart: about a third of the labels flip


def test_sources_without_relabelling_rotate_classes() -> None:
    labels = np.array([0, 1, 0, 1])
    assert rotate_classes(labels, np.array([0, 1, 1, 0]), (0, 1)).tolist() == [0, 0, 1, 1]


def test_pre_drift_rows_are_fresh_draws_of_the_same_world() -> None:
    scenario = get_scenario("concept-sudden")
    frame, labels = pre_drift_frame(scenario, 3000, seed=1)
    produced, _ = _collect(ScenarioStream(scenario, seed=1), 3)
    assert frame.shape == (3000, 20)
    assert not np.array_equal(frame["x0"].to_numpy(), produced["x0"])
    assert abs(frame["x0"].mean() - produced["x0"].mean()) < 0.15 * produced["x0"].std()
    assert 0.4 < labels.mean() < 0.6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("covariate@10", "needs features"),
        ("covariate", "expected KIND@START"),
        ("prior@10:share=1.5", "0 < share < 1"),
        ("concept@10:colour=red", "unknown parameter colour"),
        ("covariate@10+5~12:features=x0", "until must come after"),
    ],
)
def test_bad_drift_specs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_drift(text)


def test_source_specs_and_unknown_sources() -> None:
    spec = parse_source("hyperplane:n_features=20,mag_change=0.001")
    assert spec.params == {"n_features": 20, "mag_change": 0.001}
    with pytest.raises(ScenarioError, match="unknown source 'warp'"):
        ScenarioStream(Scenario("t", "", parse_source("warp")), seed=0)
    with pytest.raises(ScenarioError, match="rejects its parameters"):
        ScenarioStream(Scenario("t", "", parse_source("sea:colour=1")), seed=0)
    with pytest.raises(ScenarioError, match="no feature 'x99'"):
        ScenarioStream(
            Scenario("t", "", GAUSS, (DriftSpec("covariate", 5, features=("x99",)),)), seed=0
        )
    assert issubclass(ScenarioError, CentinelaError)


def test_river_concept_drift_stream_reports_its_own_change_point() -> None:
    stream = ScenarioStream(get_scenario("river-sea-concept"), seed=0)
    (drift,) = stream.source.intrinsic_drifts()
    assert (drift.kind, drift.start_index, drift.end_index) == ("concept", 19_900, 20_100)


@pytest.mark.parametrize(
    ("text", "mean"),
    [("fixed:10", 10.0), ("exponential:5", 5.0), ("uniform:2,4", 3.0), ("7", 7.0)],
)
def test_label_delay_distributions_have_the_stated_mean(text: str, mean: float) -> None:
    delay = LabelDelay.parse(text)
    values = delay.sample(np.random.default_rng(0), 50_000)
    assert delay.mean == mean
    assert math.isclose(values.mean(), mean, rel_tol=0.03)
    assert values.min() >= 0


def test_bad_label_delays_are_refused() -> None:
    for text in ("gamma:1", "uniform:5,1", "fixed:-1", "exponential:a"):
        with pytest.raises(ScenarioError):
            LabelDelay.parse(text)


def test_scenario_clock_is_fixed_per_seed_and_window_aligned() -> None:
    clock = EventClock.scenario(seed=3, nominal_rate=100.0, window_seconds=20.0)
    assert clock.epoch.timestamp() % 20 == 0
    times = clock.times(np.array([0, 1, 2000]))
    assert (times[2] - times[0]).astype("timedelta64[s]").astype(int) == 20
    assert EventClock.scenario(seed=3, nominal_rate=100.0, window_seconds=20.0) == clock


def test_due_queue_releases_in_key_order_across_pushes() -> None:
    queue = DueQueue()
    queue.push(np.array([3.0, 9.0]), {"v": np.array([30, 90])})
    queue.push(np.array([1.0, 5.0]), {"v": np.array([10, 50])})
    keys, items = queue.pop_due(5.0)
    assert keys.tolist() == [1.0, 3.0, 5.0] and items["v"].tolist() == [10, 30, 50]
    assert queue.next_due() == 9.0 and len(queue) == 1
    assert queue.pop_all()[1]["v"].tolist() == [90]


def test_a_run_id_that_would_need_json_escaping_is_refused_as_an_id_prefix() -> None:
    with pytest.raises(ValueError, match="may hold only"):
        generated_ids('bad"prefix', 0, 1)


def test_due_queue_stays_a_few_segments_under_many_small_pushes() -> None:
    queue = DueQueue()
    rng = np.random.default_rng(1)
    released: list[float] = []
    for tick in range(3_000):
        queue.push(tick + rng.exponential(500.0, 10), {"v": np.zeros(10)})
        assert len(queue._segments) <= 16
        keys, _ = queue.pop_due(float(tick))
        assert (np.diff(keys) >= 0).all() and (keys <= tick).all()
        released += keys.tolist()
    released += queue.pop_all()[0].tolist()
    assert len(released) == 30_000 and len(queue) == 0


def test_synthetic_values_are_sent_as_float32_and_trained_on_as_float64() -> None:
    # How float32 columns print (their shortest repr): test_codec_equivalence.py.
    block = ScenarioStream(get_scenario("stable"), seed=0).next_block()
    assert block is not None and block.features["x0"].dtype == np.float32
    frame, _ = pre_drift_frame(get_scenario("stable"), 100, seed=0)
    assert (frame.dtypes == np.float64).all()


def test_correlation_drift_needs_a_gaussian_pair_and_parses_from_the_cli() -> None:
    with pytest.raises(ScenarioError, match="two features"):
        DriftSpec("correlation", 10, features=("x0",), rho=0.5)
    with pytest.raises(ScenarioError, match="two features"):
        DriftSpec("correlation", 10, features=("x0", "x1"), rho=1.0)
    river = Scenario(
        "r",
        "river source: correlations unknown",
        SourceSpec("sea", {}),
        (DriftSpec("correlation", 10, features=("x_0", "x_1"), rho=0.5),),
    )
    with pytest.raises(ScenarioError, match="jointly Gaussian"):
        ScenarioStream(river, seed=0)
    spec = parse_drift("correlation@1000:features=x1/x2,rho=-0.5")
    assert (spec.kind, spec.features, spec.rho) == ("correlation", ("x1", "x2"), -0.5)
    source = parse_source("gaussian:n_features=4,n_informative=1,correlated=x1/x2,rho=0.5")
    stream = ScenarioStream(Scenario("g", "g", source, (spec,)), seed=0)
    blocks = [stream.next_block() for _ in range(4)]
    x1 = [b.features["x1"] for b in blocks if b is not None]
    x2 = [b.features["x2"] for b in blocks if b is not None]
    assert np.corrcoef(x1[0], x2[0])[0, 1] == pytest.approx(0.5, abs=0.08)
    assert np.corrcoef(x1[3], x2[3])[0, 1] == pytest.approx(-0.5, abs=0.08)
