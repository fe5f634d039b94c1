"""An MLflow tracking server on a SQLite store with a local artifact folder.

How it fits the rest of the local stack: docs/architecture.md, "Running it".
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import requests

from centinela.exceptions import StackError
from centinela.stack.process import ManagedProcess, port_open

log = logging.getLogger(__name__)

WEBHOOK_CACHE_SECONDS = 5


class MlflowServer:
    """`mlflow server` whose database, artifacts, log and pid file live in ``home``."""

    def __init__(self, home: Path, port: int = 5000, host: str = "127.0.0.1") -> None:
        self.home = home
        self.host = host
        self.port = port
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
        database = (self.home / "mlflow.db").resolve()
        artifacts = (self.home / "mlartifacts").resolve()
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{database}",
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
        self.process.start(command, env=env)
        self.process.wait_until(self._healthy, timeout, "answer /health")
        log.info("MLflow tracking server at %s", self.tracking_uri)

    def stop(self) -> bool:
        return self.process.stop()

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.tracking_uri}/health", timeout=1).ok
        except requests.RequestException:
            return False
