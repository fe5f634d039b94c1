"""The configuration reference, generated from :class:`~centinela.contract.settings.Settings`.

``python -m centinela.contract.settings_docs > docs/configuration.md`` rewrites it; a test keeps
the file equal to what this prints, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from centinela.contract.settings import ENV_PREFIX, Settings

HEADER = """# Configuration

Every setting is an environment variable `CENTINELA_<NAME>` or a line in `.env`, read once
when a command starts. A wrong value stops the command with a message naming the setting.
Secrets are never logged. The defaults work with the stack that `centinela up` starts.
Generated from `centinela/contract/settings.py` by `python -m centinela.contract.settings_docs`.

| variable | default | meaning |
|---|---|---|
"""


def settings_markdown() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        default = _show(field.default)
        meaning = " ".join((field.description or "").split())  # a table row is one line
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {default} | {meaning} |")
    return HEADER + "\n".join(rows) + "\n"


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        return "(secret)"
    return f"`{value}`"


if __name__ == "__main__":
    print(settings_markdown(), end="")
