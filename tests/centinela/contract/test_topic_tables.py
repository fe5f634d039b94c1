"""The topic tables of README.md and docs/architecture.md list exactly the topics created."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from centinela.contract.topics import Topics

ROOT = Path(__file__).resolve().parents[3]
ROW = re.compile(r"^\| `?([a-z-]+)`? \| (?:event_id|model name|source topic) \|", re.MULTILINE)


@pytest.mark.parametrize("document", ["README.md", "docs/architecture.md"])
def test_the_topic_table_lists_every_topic_once(document: str) -> None:
    listed = ROW.findall((ROOT / document).read_text(encoding="utf-8"))
    created = [f.name.replace("_", "-") for f in fields(Topics)]
    assert sorted(listed) == sorted(created)
