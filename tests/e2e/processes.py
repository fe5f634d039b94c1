"""Run `centinela` subcommands as separate processes, the way an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from centinela.contract.settings import Settings


def centinela_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings.as_environment(), "PYTHONUNBUFFERED": "1"}


def run_command(
    settings: Settings,
    *args: str,
    timeout: float = 600,
    exit_code: int = 0,
    log: Path | None = None,
) -> str:
    """Run one command to completion; fail the test with its output unless it exits with
    ``exit_code``.

    With ``log``, the command's output is also appended to that file."""
    result = attempt_command(settings, *args, timeout=timeout, log=log)
    assert result.returncode == exit_code, (
        f"`centinela {' '.join(args)}` exited {result.returncode}:\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout + result.stderr


def attempt_command(
    settings: Settings, *args: str, timeout: float = 600, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one command to completion, whatever its exit code."""
    result = subprocess.run(
        [sys.executable, "-m", "centinela.cli", *args],
        env=centinela_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if log is not None:
        with log.open("a") as file:
            file.write(f"$ centinela {' '.join(args)}\n{result.stdout}{result.stderr}")
    return result


class Service:
    """A long-running `centinela <subcommand>` whose output goes to a log file."""

    def __init__(self, settings: Settings, log_path: Path, *args: str) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "centinela.cli", *args],
                env=centinela_env(settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, services: list[Service]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for service in services:
            assert service.alive(), f"{service.log_path.name} exited:\n{service.log_tail()}"
        time.sleep(1.0)
    logs = "\n\n".join(f"--- {s.log_path.name} ---\n{s.log_tail()}" for s in services)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def champion_version(status_url: str) -> str | None:
    """The champion version the stream worker scores with, from its /status."""
    try:
        champion = requests.get(status_url, timeout=2).json().get("champion")
    except (requests.RequestException, ValueError):
        return None
    return None if not champion else str(champion.get("version"))
