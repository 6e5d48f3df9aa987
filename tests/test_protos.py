"""The committed stubs and descriptor set are exactly what `make protos` generates from
protos/."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "protos"))

from generate import generate  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402


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


def test_the_descriptor_set_has_every_proto_and_the_comments_of_ours():
    files = descriptor_pb2.FileDescriptorSet.FromString(
        (ROOT / "joist" / "v1" / "descriptors.binpb").read_bytes()
    ).file
    names = {file.name for file in files}
    ours = {p.relative_to(ROOT / "protos").as_posix() for p in ROOT.glob("protos/joist/**/*.proto")}
    assert ours <= names
    assert {"google/api/annotations.proto", "google/protobuf/descriptor.proto"} <= names
    for file in files:
        assert file.HasField("source_code_info") == (file.name in ours), file.name
