"""README and docs/ stay true to the code: every setting documented, every make target real."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from services.common.config import Config

ROOT = Path(__file__).resolve().parents[1]


def _settings(cls: type = Config, prefix: str = "") -> set[str]:
    found: set[str] = set()
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        kind = hints[spec.name]
        if dataclasses.is_dataclass(kind):
            found |= _settings(kind, f"{prefix}{spec.name}.")
        else:
            found.add(f"{prefix}{spec.name}")
    return found


def test_every_setting_is_documented_and_nothing_else():
    text = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", text, flags=re.M))
    assert documented == _settings()


def test_make_targets_named_in_the_docs_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\bmake ([a-z][a-z-]*)", doc.read_text()):
            assert target in targets, f"{doc.name} names `make {target}`"
