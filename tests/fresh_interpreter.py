"""Python snippets run in a fresh interpreter: what a process imports, from its start."""

from __future__ import annotations

import subprocess
import sys


def run_fresh(script: str) -> str:
    """``script``'s standard output, stripped; fails the test with its error output if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()
