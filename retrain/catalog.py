"""The registered model as the retrain worker and the review flow see it.

A thin layer over :class:`mlflow.tracking.MlflowClient` for what :mod:`centinela.models.registry`
does not cover: aliases, version and model tags, the alias history (its ledger is
:mod:`retrain.ledger`), run metrics and parameters, and the versions that belong to a retrain
request. MLflow's exceptions become Centinela's own, with the registry address in the message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from centinela.contract.settings import Settings
from centinela.exceptions import RegistryError, RegistryUnavailableError
from centinela.models import registry
from retrain.exceptions import ReviewError, UnknownModelError
from retrain.history import HistoryEntry
from retrain.ledger import AliasMoves, MlflowLedger

log = logging.getLogger(__name__)

T = TypeVar("T")

REQUEST_TAG = "centinela.request_id"
_MISSING = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}


class Catalog:
    """One registered model (``settings.model_name``) in the configured registry."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.model_name
        self.client = registry.client(settings)  # fails fast if MLflow does not answer
        self._moves: AliasMoves | None = None

    # --- the model and its aliases -----------------------------------------------------------
    def require_model(self) -> None:
        """Raise :class:`UnknownModelError` unless the registry holds the model."""
        try:
            self.client.get_registered_model(self.name)
        except MlflowException as error:
            if error.error_code in _MISSING:
                raise UnknownModelError(
                    f"the registry at {self.settings.mlflow_address} has no model named "
                    f"{self.name!r}; register one with `centinela bootstrap` or check "
                    "CENTINELA_MODEL_NAME"
                ) from None
            raise self._translate(error) from None

    def aliases(self) -> dict[str, str]:
        """Alias -> version for every alias the model has."""
        model = self._call(lambda: self.client.get_registered_model(self.name))
        return {str(alias): str(version) for alias, version in (model.aliases or {}).items()}

    def alias(self, alias: str) -> str | None:
        return self.aliases().get(alias)

    def set_alias(self, alias: str, version: str) -> None:
        self._call(lambda: self.client.set_registered_model_alias(self.name, alias, version))

    def delete_alias(self, alias: str) -> None:
        self._call(lambda: self.client.delete_registered_model_alias(self.name, alias))

    # --- versions ----------------------------------------------------------------------------
    def version(self, version: str) -> ModelVersion:
        try:
            return self.client.get_model_version(self.name, str(version))
        except MlflowException as error:
            if error.error_code in _MISSING or error.error_code == "INVALID_PARAMETER_VALUE":
                raise ReviewError(f"model {self.name!r} has no version {version}") from None
            raise self._translate(error) from None

    def versions(self) -> list[ModelVersion]:
        """Every version of the model, newest first."""
        found = self._call(
            lambda: self.client.search_model_versions(
                f"name = '{_quoted(self.name)}'", max_results=1000
            )
        )
        return sorted(found, key=lambda item: int(item.version), reverse=True)

    def set_version_tags(self, version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self._set_version_tag(version, key, value)

    def _set_version_tag(self, version: str, key: str, value: str) -> None:
        self._call(lambda: self.client.set_model_version_tag(self.name, version, key, value))

    def delete_version(self, version: str) -> None:
        self._call(lambda: self.client.delete_model_version(self.name, version))

    def versions_for_request(self, request_id: str, experiment: str) -> list[ModelVersion]:
        """Versions that a retrain request produced, found by version tag or by run tag.

        The run tag catches a version registered just before a crash, before its own tags
        were written.
        """
        run_ids = set(self._request_runs(request_id, experiment))
        found = [
            version
            for version in self.versions()
            if (version.tags or {}).get(REQUEST_TAG) == request_id or version.run_id in run_ids
        ]
        return sorted(found, key=lambda item: int(item.version))

    def _request_runs(self, request_id: str, experiment: str) -> list[str]:
        found = self._call(lambda: self.client.get_experiment_by_name(experiment))
        if found is None:
            return []
        runs = self._call(
            lambda: self.client.search_runs(
                [found.experiment_id],
                f"tags.`{REQUEST_TAG}` = '{_quoted(request_id)}'",
                max_results=100,
            )
        )
        return [run.info.run_id for run in runs]

    # --- runs --------------------------------------------------------------------------------
    def run_metrics(self, run_id: str | None) -> dict[str, float]:
        if not run_id:
            return {}
        run = self._call(lambda: self.client.get_run(run_id))
        return {str(key): float(value) for key, value in run.data.metrics.items()}

    def run_params(self, run_id: str | None) -> dict[str, Any]:
        """The run's parameters, with JSON-looking strings turned back into values."""
        if not run_id:
            return {}
        run = self._call(lambda: self.client.get_run(run_id))
        return {str(key): _parse_param(value) for key, value in run.data.params.items()}

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self._call(lambda: self.client.set_tag(run_id, key, value))

    # --- the alias history -------------------------------------------------------------------
    @property
    def moves(self) -> AliasMoves:
        """Alias moves as a compare-and-set on the model's ledger (:mod:`retrain.ledger`)."""
        if self._moves is None:
            self._moves = AliasMoves(MlflowLedger(self))
        return self._moves

    def history(self) -> list[HistoryEntry]:
        """Every recorded alias move, oldest first (the ledger, else the old history tag)."""
        return self.moves.history()

    def record(self, entry: HistoryEntry) -> HistoryEntry:
        """Append a move that depends on no other (a challenger registered): it takes the
        next free number, whatever moved meanwhile. Moves that depend on the champion go
        through :meth:`AliasMoves.move` with ``conflicts``."""
        return self.moves.move(lambda snapshot: entry)

    # --- errors ------------------------------------------------------------------------------
    def call(self, action: Callable[[], T]) -> T:
        """Run ``action``; an MLflow error becomes Centinela's own."""
        return self._call(action)

    def translate(self, error: MlflowException) -> RegistryError:
        return self._translate(error)

    def _call(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except MlflowException as error:
            raise self._translate(error) from None

    def _translate(self, error: MlflowException) -> RegistryError:
        refused = registry.refused_credentials(error, self.settings)
        if refused is not None:
            return refused
        text = str(error).splitlines()[0][:400] if str(error) else repr(error)
        uri = self.settings.mlflow_address
        if any(hint in text for hint in ("Connection", "Max retries", "API request")):
            return RegistryUnavailableError(f"MLflow at {uri} failed to answer: {text}")
        return RegistryError(f"MLflow registry error at {uri}: {text}")


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _parse_param(value: str) -> Any:
    """``"100"`` -> 100, ``"0.5"`` -> 0.5, ``"true"`` -> True, ``"None"`` -> None, else text.

    >>> [_parse_param(v) for v in ("100", "0.5", "true", "None", "lbfgs")]
    [100, 0.5, True, None, 'lbfgs']
    """
    if value == "None":
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value
