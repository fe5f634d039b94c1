from __future__ import annotations

from pathlib import Path

from stream.settings import Settings
from stream.settings_docs import settings_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_described() -> None:
    undocumented = [name for name, f in Settings.model_fields.items() if not f.description]
    assert undocumented == []


def test_the_configuration_reference_is_up_to_date() -> None:
    assert DOC.read_text() == settings_markdown(), (
        "docs/configuration.md is stale: run `python -m stream.settings_docs > "
        "docs/configuration.md`"
    )
