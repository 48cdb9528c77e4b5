"""Checks the gRPC contract in proto/ with buf: `buf lint` (STANDARD rules, proto/buf.yaml) and
`buf breaking` against the contract as last released (proto/released/kokokara-shipping-v1.binpb).

buf cannot fetch google/type and google/rpc from its registry here (no network beyond the package
registries), so the contract is first compiled to a buf image by the same protoc and include paths
that `make proto` uses (grpc_tools and googleapis-common-protos' .proto files); buf then lints only
our files of that image. buf itself comes from the npm registry (package.json, `npm ci`).

Run by `make lint`. `python scripts/check_contract.py --release` rewrites the released contract:
do it when a version of the service is released, never to make `buf breaking` pass.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from grpc_tools import protoc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_proto import PACKAGE_DIR, PROTO_ROOT, ROOT, _include_dirs

BUF = ROOT / "node_modules" / ".bin" / "buf"
CONFIG = PROTO_ROOT / "buf.yaml"
RELEASED = PROTO_ROOT / "released" / "kokokara-shipping-v1.binpb"
IMAGE = ROOT / "build" / "contract.binpb"


def build_image(out: Path, *, source_info: bool, proto_root: Path = PROTO_ROOT) -> None:
    """The contract under proto_root and its imports as one FileDescriptorSet (a buf image)."""
    protos = sorted(str(p.relative_to(proto_root)) for p in (proto_root / PACKAGE_DIR).glob("*.proto"))
    out.parent.mkdir(parents=True, exist_ok=True)
    includes = [proto_root, *_include_dirs()[1:]]
    args = ["protoc", *(f"-I{d}" for d in includes), "--include_imports", f"--descriptor_set_out={out}"]
    if source_info:
        args.append("--include_source_info")
    if protoc.main([*args, *protos]) != 0:
        raise SystemExit("protoc failed to compile proto/")


def buf(*args: str) -> int:
    if not BUF.exists():
        raise SystemExit(f"{BUF.relative_to(ROOT)} is missing: run `npm ci` (package.json pins buf)")
    return subprocess.run([str(BUF), *args], cwd=ROOT, check=False).returncode


def lint(image: Path) -> int:
    return buf("lint", f"{image}#format=binpb", "--config", str(CONFIG), "--path", "kokokara")


def breaking(image: Path, against: Path = RELEASED) -> int:
    return buf("breaking", f"{image}#format=binpb", "--against", f"{against}#format=binpb", "--config", str(CONFIG), "--path", "kokokara")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", action="store_true", help="record the current contract as the released one")
    options = parser.parse_args()
    if options.release:
        build_image(RELEASED, source_info=False)
        print(f"wrote {RELEASED.relative_to(ROOT)}")
        return 0
    build_image(IMAGE, source_info=True)
    failed = lint(IMAGE) | breaking(IMAGE)
    print("buf lint and buf breaking: " + ("FAILED" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
