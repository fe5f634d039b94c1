"""Everything MLflow-registry shaped: log a model version with its profile, load it back.

Producers (bootstrap), the stream (scoring, hot swap) and retrain (challengers) all go through
here, so a model version always carries the same things: the scikit-learn pipeline, the
:class:`~centinela.models.profile.ReferenceProfile` as the run artifact ``reference_profile.json``,
the trainer's name and parameters, validation metrics, the training dataset (``mlflow.data``), a
signature and an input example. Models load only from the configured registry
(``settings.mlflow_tracking_uri``), never from anything a message says.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import mlflow.data.pandas_dataset
import numpy as np
import pandas as pd
import requests
import sklearn
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from centinela.contract.settings import Settings
from centinela.exceptions import (
    ChampionMissingError,
    RegistryCredentialsError,
    RegistryError,
    RegistryUnavailableError,
)
from centinela.models.array_scoring import ArrayScorer, array_scorer
from centinela.models.profile import PROFILE_ARTIFACT, ReferenceProfile
from centinela.models.trainers import SKOPS_TRUSTED_TYPES

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
# A version tag: why the challenger's canary stopped (set by the retrain worker, read by every
# stream worker); absent while its canary may serve.
CANARY_STOPPED_TAG = "centinela.canary_stopped_reason"
TRAINER_TAG = "centinela.trainer"
PARAMS_TAG = "centinela.trainer_params"
MODEL_ARTIFACT = "model"
_MISSING_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}
_REFUSED_CODES = {"UNAUTHENTICATED", "PERMISSION_DENIED", "CUSTOMER_UNAUTHORIZED"}
_CREDENTIALS = "CENTINELA_MLFLOW_TRACKING_USERNAME and CENTINELA_MLFLOW_TRACKING_PASSWORD"
# The credentials each server has accepted in this process (the password only as a digest).
_accepted: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class RegisteredModel:
    """A model version just registered."""

    name: str
    version: str
    run_id: str


@dataclass(frozen=True)
class LoadedModel:
    """A registered version, ready to score: the fitted pipeline plus its reference profile."""

    name: str
    version: str
    run_id: str
    model: Any
    profile: ReferenceProfile
    trainer: str
    params: dict[str, Any] = field(default_factory=dict)
    # The trainers' pipeline applied to arrays (None: scored through a DataFrame).
    array_scorer: ArrayScorer | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scorer = array_scorer(
            self.model, self.profile.numeric_names, self.profile.categorical_names
        )
        object.__setattr__(self, "array_scorer", scorer)

    def predict_arrays(
        self,
        numeric: np.ndarray,
        numeric_names: Sequence[str],
        categorical: Mapping[str, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`predict` on a batch's arrays, with no DataFrame built; None when the model
        is not a trainer's pipeline (the caller then builds the frame and calls predict)."""
        if self.array_scorer is None:
            return None
        probabilities = self.array_scorer.predict_proba(numeric, numeric_names, categorical)
        return self._most_likely(probabilities), probabilities

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Classes and (if the model has them) class probabilities for a whole batch at once.

        Columns are put in the profile's order, so the caller's column order does not matter.
        Probability columns follow ``profile.classes``.
        """
        ordered = frame.loc[:, list(self.profile.feature_names)]
        if not hasattr(self.model, "predict_proba"):
            return np.asarray(self.model.predict(ordered)), None
        probabilities = np.asarray(self.model.predict_proba(ordered), dtype=float)
        return self._most_likely(probabilities), probabilities

    def _most_likely(self, probabilities: np.ndarray) -> np.ndarray:
        """Each row's class of highest probability (columns follow the model's classes)."""
        return np.asarray(self.model.classes_)[probabilities.argmax(axis=1)]


def configure_mlflow(settings: Settings) -> None:
    """Point MLflow's fluent API at the configured store, with credentials if any.

    MLflow reads credentials only from its own environment variables, so they are handed over
    here, at the one place a client is configured, and never logged. The settings decide: an
    ``MLFLOW_TRACKING_USERNAME`` or ``_PASSWORD`` the process inherited without them is dropped.
    """
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_tracking_uri)
    username, password = settings.mlflow_tracking_username, settings.mlflow_tracking_password
    if username:
        os.environ["MLFLOW_TRACKING_USERNAME"] = username
    else:
        os.environ.pop("MLFLOW_TRACKING_USERNAME", None)
    if password:
        os.environ["MLFLOW_TRACKING_PASSWORD"] = password.get_secret_value()
    else:
        os.environ.pop("MLFLOW_TRACKING_PASSWORD", None)


def client(settings: Settings) -> MlflowClient:
    """An MLflow client on the configured store, after checking that it answers and takes
    the configured credentials."""
    configure_mlflow(settings)
    _require_reachable(settings)
    check_credentials(settings)
    return _client_for(settings.mlflow_tracking_uri)


def check_credentials(settings: Settings) -> None:
    """Raise :class:`RegistryCredentialsError` if the tracking server refuses the configured
    credentials (or wants some and none are set); return quietly when it takes them, when it
    does not answer (that is for the caller's own error), or when the store is not a server.

    Processes call it at start, so that a wrong password stops them with a message naming the
    settings instead of failing every request later. A server asks once per process.
    """
    uri = settings.mlflow_tracking_uri
    if not uri.startswith(("http://", "https://")):
        return
    username = settings.mlflow_tracking_username or ""
    password = settings.mlflow_tracking_password
    secret = password.get_secret_value() if password else ""
    key = (uri, username, hashlib.sha256(secret.encode()).hexdigest())
    if key in _accepted:
        return
    try:
        answer = requests.get(
            f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search",
            params={"max_results": 1},
            auth=(username, secret) if username or secret else None,
            timeout=30,
        )
    except requests.RequestException:
        return
    if answer.status_code in (401, 403):
        raise _refused(settings, answer.status_code)
    _accepted.add(key)


@functools.cache
def _client_for(tracking_uri: str) -> MlflowClient:
    """One client per store, shared: on a database URI each new client builds its own
    SQLAlchemy store and checks the schema (about a second of CPU, every champion poll).
    MLflow's stores are safe to share between threads."""
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def ensure_experiment(settings: Settings, name: str) -> str:
    """The id of experiment ``name``, created if needed.

    On a SQLite store MLflow would put artifacts in ``./mlruns`` of whatever folder the process
    runs in; they go next to the database file instead, so every process finds them.
    """
    mlflow_client = client(settings)
    try:
        found = mlflow_client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        return str(mlflow_client.create_experiment(name, _artifact_location(settings, name)))
    except MlflowException as error:
        if "already exists" in str(error):  # another process created it first
            found = mlflow_client.get_experiment_by_name(name)
            if found is not None:
                return str(found.experiment_id)
        raise _translate(error, settings) from None


def create_experiment_if_absent(settings: Settings, name: str, tags: dict[str, str]) -> str | None:
    """Create experiment ``name`` with ``tags`` in one step; None if the name is taken.

    This is a create-if-absent the store enforces: MLflow's SQL stores hold experiment names
    under a unique constraint and create an experiment and its tags in one transaction, so of
    several processes creating the same name exactly one succeeds, and the others see its tags.
    """
    mlflow_client = client(settings)
    try:
        return str(
            mlflow_client.create_experiment(name, _artifact_location(settings, name), tags=tags)
        )
    except MlflowException as error:
        if error.error_code == "RESOURCE_ALREADY_EXISTS" or "already exists" in str(error):
            return None
        raise _translate(error, settings) from None


def log_model_version(
    settings: Settings,
    model: Any,
    *,
    profile: ReferenceProfile,
    trainer: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    train_frame: pd.DataFrame,
    labels: Any,
    tags: dict[str, str],
    run_name: str,
    experiment: str,
    alias: str | None,
) -> RegisteredModel:
    """Log one MLflow run holding the model and its profile; register it; set ``alias``."""
    experiment_id = ensure_experiment(settings, experiment)
    mlflow_client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    name = settings.model_name
    try:
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
            mlflow.log_params({"trainer": trainer, **params})
            mlflow.log_metrics({key: float(value) for key, value in metrics.items()})
            mlflow.log_input(_dataset(train_frame, labels, run_name), context="training")
            mlflow.log_text(profile.to_json(), PROFILE_ARTIFACT)
            info = mlflow.sklearn.log_model(
                model,
                name=MODEL_ARTIFACT,
                registered_model_name=name,
                signature=_signature(model, train_frame),
                input_example=train_frame.head(5),
                pip_requirements=_requirements(),
                skops_trusted_types=list(SKOPS_TRUSTED_TYPES),
            )
        version = str(info.registered_model_version)
        version_tags = {**tags, TRAINER_TAG: trainer, PARAMS_TAG: json.dumps(params, default=str)}
        for key, value in version_tags.items():
            mlflow_client.set_model_version_tag(name, version, key, value)
        if alias:
            mlflow_client.set_registered_model_alias(name, alias, version)
    except MlflowException as error:
        raise _translate(error, settings) from None
    log.info(
        "registered %s version %s (run %s)%s",
        name,
        version,
        run.info.run_id,
        f" as @{alias}" if alias else "",
    )
    return RegisteredModel(name=name, version=version, run_id=run.info.run_id)


def load_model(
    settings: Settings, *, alias: str = CHAMPION, version: str | None = None
) -> LoadedModel:
    """Load ``models:/<name>@<alias>`` (or an explicit ``version``) with its reference profile.

    Raises :class:`ChampionMissingError` when no such alias/version exists and
    :class:`RegistryUnavailableError` when MLflow does not answer.
    """
    mlflow_client = client(settings)
    model_version = _resolve(mlflow_client, settings, alias, version)
    name, number, run_id = settings.model_name, str(model_version.version), model_version.run_id
    try:
        model = mlflow.sklearn.load_model(f"models:/{name}/{number}")
        profile_path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=PROFILE_ARTIFACT, tracking_uri=settings.mlflow_tracking_uri
        )
    except MlflowException as error:
        raise _translate(error, settings) from None
    profile = ReferenceProfile.from_json(Path(profile_path).read_text(encoding="utf-8"))
    tags = dict(model_version.tags or {})
    trainer = tags.get(TRAINER_TAG, "")
    params = json.loads(tags.get(PARAMS_TAG, "{}"))
    log.info("loaded %s version %s (%s)", name, number, trainer or "unknown trainer")
    return LoadedModel(name, number, run_id or "", model, profile, trainer, params)


def alias_version(settings: Settings, alias: str) -> str | None:
    """The version that ``alias`` names now, or None if the alias (or the model) is unset."""
    mlflow_client = client(settings)
    try:
        return str(mlflow_client.get_model_version_by_alias(settings.model_name, alias).version)
    except MlflowException as error:
        if error.error_code in _MISSING_CODES:
            return None
        raise _translate(error, settings) from None


def _resolve(
    mlflow_client: MlflowClient, settings: Settings, alias: str, version: str | None
) -> ModelVersion:
    name = settings.model_name
    wanted = f"version {version}" if version else f"alias @{alias}"
    try:
        if version is not None:
            return mlflow_client.get_model_version(name, version)
        return mlflow_client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code in _MISSING_CODES:
            raise ChampionMissingError(
                f"model {name!r} has no {wanted} in the registry at "
                f"{settings.mlflow_address}; register one with `centinela bootstrap`"
            ) from None
        raise _translate(error, settings) from None


def _dataset(frame: pd.DataFrame, labels: Any, run_name: str) -> Any:
    target = "label" if "label" not in frame.columns else "__label__"
    data = frame.reset_index(drop=True).assign(**{target: np.asarray(labels)})
    return mlflow.data.pandas_dataset.from_pandas(data, targets=target, name=f"{run_name}-train")


def _signature(model: Any, frame: pd.DataFrame) -> Any:
    head = frame.head(100)
    with warnings.catch_warnings():
        # Integer class labels make MLflow warn about missing values, which labels never have.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        return infer_signature(head, model.predict(head))


def _requirements() -> list[str]:
    # Stating them skips MLflow's inference, which loads the model in a subprocess (seconds).
    return [
        f"mlflow=={mlflow.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"numpy=={np.__version__}",
        f"pandas=={pd.__version__}",
        "skops",
    ]


def _artifact_location(settings: Settings, experiment: str) -> str | None:
    uri = settings.mlflow_tracking_uri
    if not uri.startswith("sqlite:///"):
        return None  # a server decides (--artifacts-destination)
    database = Path(uri.removeprefix("sqlite:///")).resolve()
    return (database.parent / "mlartifacts" / experiment).as_uri()


def _require_reachable(settings: Settings) -> None:
    uri = settings.mlflow_tracking_uri
    if not uri.startswith(("http://", "https://")):
        return
    # MLflow's own client retries for minutes; a short probe gives a prompt, clear answer.
    try:
        requests.get(f"{uri.rstrip('/')}/health", timeout=5)
    except requests.RequestException:
        raise RegistryUnavailableError(
            f"MLflow does not answer at {settings.mlflow_address}; start it with `centinela up` "
            "or set CENTINELA_MLFLOW_TRACKING_URI"
        ) from None


def refused_credentials(error: MlflowException, settings: Settings) -> RegistryError | None:
    """The credentials error ``error`` stands for, if the server refused the request."""
    text = str(error)
    if error.error_code in _REFUSED_CODES or "error code 401" in text:
        return _refused(settings, 403 if "PERMISSION_DENIED" in error.error_code else 401)
    if "error code 403" in text:
        return _refused(settings, 403)
    return None


def _refused(settings: Settings, status: int) -> RegistryCredentialsError:
    where = settings.mlflow_address
    user = settings.mlflow_tracking_username
    if status == 403:
        who = f"user {user!r}" if user else "a client without a login"
        return RegistryCredentialsError(
            f"MLflow at {where} denies {who} what Centinela needs (HTTP 403); grant the "
            f"permission, or set {_CREDENTIALS} to a user who has it"
        )
    if not user:
        return RegistryCredentialsError(
            f"MLflow at {where} needs a login (HTTP 401); set {_CREDENTIALS}"
        )
    return RegistryCredentialsError(
        f"MLflow at {where} refused the password of user {user!r} (HTTP 401); check {_CREDENTIALS}"
    )


def _translate(error: MlflowException, settings: Settings) -> RegistryError:
    refused = refused_credentials(error, settings)
    if refused is not None:
        return refused
    text = str(error).splitlines()[0][:500]
    if "Connection" in text or "Max retries" in text or "API request" in text:
        return RegistryUnavailableError(
            f"MLflow at {settings.mlflow_address} failed to answer: {text}"
        )
    return RegistryError(f"MLflow registry error at {settings.mlflow_address}: {text}")
