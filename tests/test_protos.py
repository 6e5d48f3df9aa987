"""The committed stubs are exactly what `make protos` generates from protos/."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "protos"))

from generate import generate  # noqa: E402


def test_generated_stubs_are_fresh(tmp_path: Path):
    files = generate(tmp_path)
    assert files, "no stubs generated"
    generated = {p.relative_to(tmp_path): p.read_bytes() for p in files}
    committed = {
        p.relative_to(ROOT): p.read_bytes()
        for p in (ROOT / "joist").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    stale = sorted(
        str(p) for p in generated.keys() | committed.keys() if generated.get(p) != committed.get(p)
    )
    assert not stale, f"stubs differ from protos/ (run `make protos`): {stale}"
