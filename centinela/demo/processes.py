"""The demo's worker processes: each a `centinela` subcommand with its own log file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


class Worker:
    """One `centinela <subcommand>` child process, logging to ``log_dir/<name>.log``."""

    def __init__(self, name: str, args: list[str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str] | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "centinela.cli", *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env or dict(os.environ),
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.wait(timeout)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM first, so workers commit and flush; SIGKILL if they hang."""
        if not self.running():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""
