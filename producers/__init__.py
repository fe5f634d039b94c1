"""Producers: synthetic scenarios with known drift, dataset replay, and the first champion.

``centinela produce`` publishes FeatureEvents and delayed LabelEvents keyed by event id and
writes a ground-truth manifest; ``centinela bootstrap`` trains and registers the first
champion on a scenario's pre-drift data.
"""

from __future__ import annotations

from producers.bootstrap import BootstrapResult, bootstrap
from producers.catalogue import EVENTS_PER_WINDOW, get_scenario, list_scenarios
from producers.clock import EventClock
from producers.delays import LabelDelay
from producers.drifts import DriftSpec
from producers.exceptions import DatasetError, ProducerError, PublishError, ScenarioError
from producers.publisher import Publisher
from producers.runner import ProduceRun, RunOptions, RunResult
from producers.scenario import DeliveryPlan, Scenario, ScenarioStream, pre_drift_frame

__all__ = [
    "EVENTS_PER_WINDOW",
    "BootstrapResult",
    "DatasetError",
    "DeliveryPlan",
    "DriftSpec",
    "EventClock",
    "LabelDelay",
    "ProduceRun",
    "ProducerError",
    "PublishError",
    "Publisher",
    "RunOptions",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioStream",
    "bootstrap",
    "get_scenario",
    "list_scenarios",
    "pre_drift_frame",
]
