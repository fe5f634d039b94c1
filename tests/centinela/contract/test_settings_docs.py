from __future__ import annotations

from pathlib import Path

from centinela.contract.settings import Settings
from centinela.contract.settings_docs import settings_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_every_setting_is_described() -> None:
    undocumented = [name for name, f in Settings.model_fields.items() if not f.description]
    assert undocumented == []


def test_the_configuration_reference_is_up_to_date() -> None:
    assert DOC.read_text() == settings_markdown(), (
        "docs/configuration.md is stale: run `python -m centinela.contract.settings_docs > "
        "docs/configuration.md`"
    )
