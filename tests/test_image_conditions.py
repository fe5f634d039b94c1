"""The container image's conditions without Docker: `centinela stream` as an unprivileged user.

The image (Dockerfile) runs every process as its user `centinela`, starts it in a folder that
user owns (CENTINELA_HOME, also its HOME), and the code it runs is root-owned. A worker that
writes where it should not (the working folder, the code, a root-owned default) cannot start
there. No Docker engine runs in CI, so this test makes those conditions on the machine:

- it must run as root (CI does) to switch to an unprivileged user; it fails, never skips,
  when it cannot;
- the user is ``nobody`` (or a system user it creates and removes again);
- the working folder is root-owned, mode 755: the user cannot write in it;
- the data folder stands in for the image's CENTINELA_HOME, owned by the user as the image's
  ``install -d -o`` makes it; HOME points there too, as the image's passwd entry does;
- the environment is exactly what a container of the image gets from the Dockerfile's ENV and
  docker-compose.yml's stream service, with the broker and MLflow addresses pointed at the
  test's own, and a topic prefix, model name and web port of the test's own;
- `centinela topics create` (compose's `topics` service) and then `centinela stream` run as
  that user through ``setpriv``, and the worker must answer ``/ready`` with 200 on a champion
  registered for it, having written nothing into the working folder.
"""

from __future__ import annotations

import json
import os
import platform
import pwd
import shutil
import stat
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from centinela.contract.settings import ENV_PREFIX, Settings
from centinela.stack.mlflow_server import MlflowServer
from tests.dockerfile import REPO, read_image
from tests.stream.stream_scenario import register_champion
from tests.stream.worker_process import CENTINELA, WorkerProcess

pytestmark = pytest.mark.integration

COMPOSE = REPO / "docker-compose.yml"
TEST_USER = "centinela-image-test"

# Run as the user before anything else: who it is, whether it can write where the image says.
PROBE = """
import json, os, sys, sysconfig
def writable(folder):
    path = os.path.join(folder, ".centinela-probe")
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except PermissionError:
        return False
    os.unlink(path)
    return True
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
import centinela.cli, stream.app
print(json.dumps({
    "uid": os.getuid(), "euid": os.geteuid(), "groups": os.getgroups(),
    "capabilities": int(status["CapEff"].strip(), 16),
    "cwd_writable": writable("."), "home_writable": writable(os.environ["CENTINELA_HOME"]),
    "python": sys.version.split()[0], "stdlib": sysconfig.get_paths()["stdlib"],
    "centinela": centinela.cli.__file__,
}))
"""


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` as this user: its uid and gid, no supplementary groups, no capabilities."""
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--",
            *argv,
        ]


@pytest.fixture
def unprivileged_user() -> Iterator[User]:
    if os.geteuid() != 0:
        pytest.fail(
            f"this test reproduces the container image's unprivileged user and must run as root "
            f"to switch to one (CI does); it runs as uid {os.geteuid()}. Run it as root, e.g. "
            f"`sudo .venv/bin/pytest {Path(__file__).relative_to(REPO)}`",
            pytrace=False,
        )
    if not shutil.which("setpriv"):
        pytest.fail(
            "setpriv (util-linux) is needed to run the worker as an unprivileged user; "
            "install util-linux",
            pytrace=False,
        )
    created = False
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
            check=True,
        )
        created = True
        entry = pwd.getpwnam(TEST_USER)
    assert entry.pw_uid != 0 and entry.pw_gid != 0, f"{entry.pw_name} is not unprivileged"
    try:
        yield User(entry.pw_name, entry.pw_uid, entry.pw_gid)
    finally:
        if created:
            subprocess.run(["userdel", TEST_USER], check=False)


@pytest.fixture
def folders(unprivileged_user: User) -> Iterator[tuple[Path, Path]]:
    """(working folder, data folder) in a root-owned, world-readable base outside pytest's
    temporary folders (those are mode 700: the user could not even reach them)."""
    base = Path(tempfile.mkdtemp(prefix="centinela-image-"))
    try:
        base.chmod(0o755)
        working = base / "app"
        working.mkdir(mode=0o755)
        (working / "pyproject.toml").write_text("# the image's /app holds the build sources\n")
        data = base / "var-lib-centinela"
        data.mkdir(mode=0o755)
        os.chown(data, unprivileged_user.uid, unprivileged_user.gid)
        yield working, data
    finally:
        shutil.rmtree(base, ignore_errors=True)


def image_environment() -> dict[str, str]:
    """What a container of the image running compose's stream service has in its environment
    from the Dockerfile and docker-compose.yml (the base image's PATH and LANG aside)."""
    image = read_image()
    compose = yaml.safe_load(COMPOSE.read_text())
    service = compose["services"]["stream"]
    assert service.get("build") == "." and service.get("user", image.user) == image.user
    environment = {k: str(v) for k, v in (service.get("environment") or {}).items()}
    return {**image.env, **environment}


class WorkerAsUser(WorkerProcess):
    """`centinela stream` as ``user`` in ``working`` with exactly ``environment`` (and the
    web port this worker was given)."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        user: User,
        working: Path,
        environment: dict[str, str],
    ) -> None:
        super().__init__(settings, log_path)
        self.user = user
        self.working = working
        self.environment = {**environment, f"{ENV_PREFIX}STREAM_WEB_PORT": str(self.port)}

    def start(self) -> WorkerAsUser:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.user.command([str(CENTINELA), "stream"]),
                cwd=self.working,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self


def run_as(
    user: User, argv: list[str], working: Path, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        user.command(argv),
        cwd=working,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_stream_worker_starts_as_the_images_user_in_a_root_owned_folder(
    kafka_bootstrap: str,
    mlflow_server: MlflowServer,
    unprivileged_user: User,
    folders: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    working, data = folders
    user = unprivileged_user
    image = read_image()
    account = image.account()
    assert image.env["CENTINELA_HOME"] == account.home == image.workdir

    tag = uuid.uuid4().hex[:8]
    environment = image_environment()
    # Stand-ins for what differs only because this is no container: where the broker and
    # MLflow are, the image's data folder, and names of this test's own on a shared broker
    # and MLflow server. Each replaces a variable the image or compose sets.
    stand_ins = {
        f"{ENV_PREFIX}KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        f"{ENV_PREFIX}MLFLOW_TRACKING_URI": mlflow_server.tracking_uri,
        f"{ENV_PREFIX}HOME": str(data),
        f"{ENV_PREFIX}TOPIC_PREFIX": f"image{tag}.",
        f"{ENV_PREFIX}MODEL_NAME": f"image-{tag}",
    }
    assert set(stand_ins) <= set(environment), sorted(set(stand_ins) - set(environment))
    environment.update(stand_ins)
    environment["HOME"] = str(data)  # Docker sets HOME from the user's passwd entry
    environment["PATH"] = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    environment["LANG"] = "C.UTF-8"  # as python:3.11-slim does

    probe = run_as(user, [str(CENTINELA.parent / "python"), "-c", PROBE], working, environment)
    assert probe.returncode == 0, (
        f"user {user.name} cannot run the venv's Python from {working}: the venv, the repo and "
        f"the venv's base interpreter must be readable by it\n{probe.stdout}{probe.stderr}"
    )
    seen: dict[str, Any] = json.loads(probe.stdout.strip().splitlines()[-1])
    assert (seen["uid"], seen["euid"]) == (user.uid, user.uid), seen
    assert set(seen["groups"]) <= {user.gid}, seen
    assert seen["capabilities"] == 0, f"the user's process keeps capabilities: {seen}"
    assert not seen["cwd_writable"], f"{working} must not be writable by {user.name}"
    assert seen["home_writable"], f"{data} must be writable by {user.name}"
    assert Path(seen["centinela"]).is_relative_to(REPO), seen
    if seen["python"] != platform.python_version():
        warnings.warn(
            f"as {user.name}, the venv's interpreter runs Python {seen['python']} with "
            f"{seen['stdlib']} (its base installation is not readable by that user); the test "
            f"process runs {platform.python_version()}",
            stacklevel=1,
        )
    assert seen["python"].split(".")[:2] == platform.python_version().split(".")[:2]

    values: dict[str, Any] = {
        k.removeprefix(ENV_PREFIX).lower(): v
        for k, v in environment.items()
        if k.startswith(ENV_PREFIX)
    }
    settings = Settings(_env_file=None, **values)  # the worker's settings, for the test's side
    register_champion(settings, seed=0)

    topics = run_as(user, [str(CENTINELA), "topics", "create"], working, environment)
    assert topics.returncode == 0, f"`centinela topics create` failed:\n{topics.stderr}"

    worker = WorkerAsUser(settings, tmp_path / "worker.log", user, working, environment)
    worker.start()
    try:
        worker.wait_ready(timeout=180)
        assert worker.get("/ready").status_code == 200
        assert worker.alive()
    finally:
        worker.stop()  # SIGTERM to its process group, SIGKILL if it lingers
    assert not worker.alive()

    assert sorted(p.name for p in working.iterdir()) == ["pyproject.toml"], (
        f"the worker wrote into its working folder: {sorted(working.iterdir())}"
    )
    mode = working.stat()
    assert (mode.st_uid, stat.S_IMODE(mode.st_mode)) == (0, 0o755)
    written = data / "stream-data"
    assert written.is_dir() and written.stat().st_uid == user.uid, (
        f"the worker kept no data in CENTINELA_HOME ({data}): {sorted(data.iterdir())}"
    )
