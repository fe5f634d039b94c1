"""Fixtures for the retrain tests: settings on the real broker and the real MLflow server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from centinela.contract.settings import Settings
from centinela.contract.topics import create_topics
from centinela.stack.mlflow_server import MlflowServer


@pytest.fixture
def retrain_settings(
    make_settings: Callable[..., Settings], mlflow_server: MlflowServer
) -> Callable[..., Settings]:
    """Settings with their own topics, model name and consumer group; topics created."""

    def factory(**overrides: Any) -> Settings:
        tag = uuid.uuid4().hex[:8]
        values: dict[str, Any] = {
            "mlflow_tracking_uri": mlflow_server.tracking_uri,
            "model_name": f"retrain-{tag}",
            "retrain_group_id": f"retrain-{tag}",
            "training_experiment": f"training-{tag}",
            "retrain_min_rows": 200,
            # The tests' ranges are what is trained on; waiting for more is tested on its own.
            "retrain_target_rows": 0,
            "reference_sample_size": 500,
        }
        values.update(overrides)
        settings = make_settings(**values)
        create_topics(settings)
        return settings

    return factory
