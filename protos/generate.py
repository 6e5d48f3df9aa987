"""Generates the Python stubs (messages, .pyi, gRPC) from protos/ into the `joist` package, and
`joist/v1/descriptors.binpb`: a FileDescriptorSet of every proto and its imports, with the
source info (comments) of our own protos, from which the gateway takes the OpenAPI
descriptions.

`make protos` runs it; tests/test_protos.py runs it into a temporary folder and fails when the
committed files differ. Generated files are never edited by hand.

The descriptor set is what `protoc --include_imports --include_source_info` writes, less the
source info of the imported files (google/api, google/protobuf): their comments are not ours,
would make the file five times larger, and would make it stale whenever a new
googleapis-common-protos rewords one of them.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
HEADER = '"""Generated from protos/ by `make protos`. Do not edit."""\n'
DESCRIPTOR_SET = Path("joist/v1/descriptors.binpb")


def _include_dirs() -> list[str]:
    googleapis = Path(resources.files("google.api").joinpath("annotations.proto")).parents[2]
    well_known = resources.files("grpc_tools").joinpath("_proto")
    return [str(PROTO_ROOT), str(googleapis), str(well_known)]


def _keep_own_source_info(path: Path, own: set[str]) -> None:
    """Drops the source info of the files in the set that are not under protos/."""
    files = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    for file in files.file:
        if file.name not in own:
            file.ClearField("source_code_info")
    path.write_bytes(files.SerializeToString(deterministic=True))


def generate(out_dir: Path) -> list[Path]:
    """Writes the stubs and the descriptor set of every proto under protos/joist into out_dir;
    returns the files."""
    protos = sorted(PROTO_ROOT.glob("joist/**/*.proto"))
    names = [p.relative_to(PROTO_ROOT).as_posix() for p in protos]
    out_dir.mkdir(parents=True, exist_ok=True)
    descriptor_set = out_dir / DESCRIPTOR_SET
    descriptor_set.parent.mkdir(parents=True, exist_ok=True)
    args = ["grpc_tools.protoc", *(f"-I{d}" for d in _include_dirs())]
    args += [f"--python_out={out_dir}", f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}"]
    args += [f"--descriptor_set_out={descriptor_set}", "--include_imports"]
    args += ["--include_source_info", *names]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    _keep_own_source_info(descriptor_set, set(names))
    for package in {p.parent.relative_to(PROTO_ROOT) for p in protos}:
        for level in range(1, len(package.parts) + 1):
            init = out_dir.joinpath(*package.parts[:level], "__init__.py")
            init.write_text(HEADER)
    return sorted(p for p in out_dir.joinpath("joist").rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=PROTO_ROOT.parent)
    files = generate(parser.parse_args().out)
    print(f"generated {len(files)} files", file=sys.stderr)


if __name__ == "__main__":
    main()
