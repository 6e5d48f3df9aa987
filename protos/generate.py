"""Generates the Python stubs (messages, .pyi, gRPC) from protos/ into the `joist` package.

`make protos` runs it; tests/test_protos.py runs it into a temporary folder and fails when the
committed stubs differ. Generated files are never edited by hand.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
HEADER = '"""Generated from protos/ by `make protos`. Do not edit."""\n'


def _include_dirs() -> list[str]:
    googleapis = Path(resources.files("google.api").joinpath("annotations.proto")).parents[2]
    well_known = resources.files("grpc_tools").joinpath("_proto")
    return [str(PROTO_ROOT), str(googleapis), str(well_known)]


def generate(out_dir: Path) -> list[Path]:
    """Writes the stubs of every proto under protos/joist into out_dir; returns the files."""
    protos = sorted(PROTO_ROOT.glob("joist/**/*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    args = ["grpc_tools.protoc", *(f"-I{d}" for d in _include_dirs())]
    args += [f"--python_out={out_dir}", f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}"]
    args += [str(p.relative_to(PROTO_ROOT)) for p in protos]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
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
