"""Search the logs a test's processes wrote for secrets that must never be printed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def files_under(*folders: Path) -> list[Path]:
    return sorted(path for folder in folders for path in folder.rglob("*") if path.is_file())


def assert_no_secret(logs: Iterable[Path], secrets: Iterable[str]) -> int:
    """Fail naming each log that holds one of ``secrets``; return how many bytes were read,
    so that a test can also assert that it scanned something."""
    wanted = [secret.encode() for secret in secrets]
    assert wanted and all(wanted), "no secret to look for"
    leaks, scanned = [], 0
    for log in logs:
        content = log.read_bytes()
        scanned += len(content)
        leaks += [f"{log} (secret #{n})" for n, secret in enumerate(wanted) if secret in content]
    assert not leaks, f"a password is written in: {', '.join(leaks)}"
    return scanned
