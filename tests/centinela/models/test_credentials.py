"""What a refusal from an MLflow server becomes, and where a password may never show."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from centinela.contract.settings import Settings
from centinela.exceptions import RegistryCredentialsError
from centinela.models.registry import refused_credentials

CREDENTIALS = "CENTINELA_MLFLOW_TRACKING_USERNAME and CENTINELA_MLFLOW_TRACKING_PASSWORD"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def rest_error(status: int, code: str) -> MlflowException:
    """What MLflow's REST client raises for an HTTP error answer."""
    return MlflowException(
        f"API request to endpoint /api/2.0/mlflow/experiments/search failed with error code "
        f"{status} != 200. Response body: 'You are not authenticated.'",
        error_code=code,
    )


def test_a_refused_password_names_the_user_and_both_settings() -> None:
    given = settings(
        mlflow_tracking_uri="http://ana:s3cret@mlflow.example:5000",
        mlflow_tracking_username="ana",
        mlflow_tracking_password="s3cret",
    )
    error = refused_credentials(rest_error(401, "UNAUTHENTICATED"), given)
    assert isinstance(error, RegistryCredentialsError)
    assert str(error) == (
        "MLflow at http://mlflow.example:5000 refused the password of user 'ana' (HTTP 401); "
        f"check {CREDENTIALS}"
    )


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "INTERNAL_ERROR", "needs a login (HTTP 401); set " + CREDENTIALS),
        (403, "PERMISSION_DENIED", "denies a client without a login what Centinela needs"),
    ],
)
def test_a_login_wanted_or_a_permission_denied_says_so(
    status: int, code: str, expected: str
) -> None:
    error = refused_credentials(rest_error(status, code), settings())
    assert error is not None and expected in str(error)


def test_other_errors_are_not_about_credentials() -> None:
    missing = MlflowException("no such model", error_code="RESOURCE_DOES_NOT_EXIST")
    assert refused_credentials(missing, settings()) is None


def test_the_address_shown_never_carries_a_password() -> None:
    given = settings(mlflow_tracking_uri="https://ana:s3cret@mlflow.example/prefix")
    assert given.mlflow_address == "https://mlflow.example/prefix"
    assert settings().mlflow_address == settings().mlflow_tracking_uri
