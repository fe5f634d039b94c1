"""An MLflow tracking server with a local artifact folder: on a SQLite store by default, or on
any store MLflow takes (PostgreSQL: :mod:`centinela.stack.postgres`), optionally behind MLflow's
basic authentication.

How it fits the rest of the local stack: docs/architecture.md, "Running it".
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests
from pydantic import SecretStr

from centinela.exceptions import StackError
from centinela.stack.process import ManagedProcess, port_open

log = logging.getLogger(__name__)

WEBHOOK_CACHE_SECONDS = 5


@dataclass(frozen=True)
class BasicAuth:
    """MLflow's basic authentication (``--app-name basic-auth``) with its first admin user.

    The users live in their own SQLite database in the server's home; the admin is created the
    first time the server starts on it, and later starts leave it (and its password) as it is.
    """

    admin_username: str
    admin_password: SecretStr
    default_permission: str = "READ"
    """What a user who was granted nothing may do (MLflow's own default)."""
    credential_cache_seconds: int = 300
    """How long the server trusts a password it has checked. MLflow checks each request's
    password with a deliberately slow hash (seconds per request on a busy machine: a stream
    worker and its monitoring thread would queue behind it); its cache is per worker process,
    and this server runs one, so a password changed through the API takes effect at once."""


class MlflowServer:
    """`mlflow server` whose database, artifacts, log and pid file live in ``home``.

    ``backend_store_uri`` is the tracking and registry store (default: SQLite in ``home``);
    ``auth`` puts the server behind MLflow's basic authentication; ``environment`` adds
    variables of the server's own (``MLFLOW_WEBHOOK_...``).
    """

    def __init__(
        self,
        home: Path,
        port: int = 5000,
        host: str = "127.0.0.1",
        *,
        backend_store_uri: str | None = None,
        auth: BasicAuth | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.home = home
        self.host = host
        self.port = port
        self.backend_store_uri = backend_store_uri
        self.auth = auth
        self.environment = dict(environment or {})
        self.process = ManagedProcess("MLflow server", home / "mlflow.pid", home / "mlflow.log")

    @property
    def tracking_uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    def running(self) -> bool:
        return self.process.pid() is not None

    def start(self, timeout: float = 120.0) -> None:
        if self.running():
            return
        if port_open(self.host, self.port):
            raise StackError(
                f"port {self.port} is already taken by another program; stop it, choose another "
                "port (CENTINELA_LOCAL_MLFLOW_PORT), or point CENTINELA_MLFLOW_TRACKING_URI at "
                "an MLflow server you already run"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        store = self.backend_store_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"
        artifacts = (self.home / "mlartifacts").resolve()
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", store,
            "--artifacts-destination", str(artifacts),
            "--serve-artifacts",
            "--host", self.host,
            "--port", str(self.port),
            "--workers", "1",
        ]  # fmt: skip
        # The server's own telemetry would try to reach the internet; this machine has none.
        # Its registry webhooks may call stream workers on this machine, over plain HTTP
        # (MLflow allows only public HTTPS addresses unless told otherwise).
        env = {
            **os.environ,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
            # The server caches who listens to an event; a worker that just registered its
            # webhook hears of moves after this long (MLflow's default is 60 s).
            "MLFLOW_WEBHOOK_CACHE_TTL": str(WEBHOOK_CACHE_SECONDS),
        }
        # A client's credentials in this process's environment are not the server's business.
        env.pop("MLFLOW_TRACKING_USERNAME", None)
        env.pop("MLFLOW_TRACKING_PASSWORD", None)
        env.update(self.environment)
        if self.auth is not None:
            command += ["--app-name", "basic-auth"]
            env.update(self._auth_environment(self.auth))
        self.process.start(command, env=env)
        self.process.wait_until(self._healthy, timeout, "answer /health")
        log.info("MLflow tracking server at %s", self.tracking_uri)

    def stop(self) -> bool:
        return self.process.stop()

    def _auth_environment(self, auth: BasicAuth) -> dict[str, str]:
        """The auth app's configuration file, and its secrets as environment variables only."""
        config = self.home / "basic_auth.ini"
        users = (self.home / "basic_auth.db").resolve()
        config.write_text(
            "[mlflow]\n"
            f"default_permission = {auth.default_permission}\n"
            f"database_uri = sqlite:///{users}\n"
            f"admin_username = {auth.admin_username}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            f"auth_cache_ttl_seconds = {auth.credential_cache_seconds}\n"
        )
        return {
            "MLFLOW_AUTH_CONFIG_PATH": str(config.resolve()),
            "MLFLOW_AUTH_ADMIN_PASSWORD": auth.admin_password.get_secret_value(),
            # Signs the sign-up form's CSRF token; one worker, so a new key per start is enough.
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(32),
        }

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.tracking_uri}/health", timeout=1).ok
        except requests.RequestException:
            return False
