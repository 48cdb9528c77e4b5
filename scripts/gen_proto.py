"""Generates the Python gRPC stubs for proto/ into a directory (committed under kokokara/shipping/v1),
and beside them the Connect stubs (`*_connect.py`, protoc-gen-connectrpc: google.protobuf messages,
asyncio only) that the HTTP side serves (kokokara/shipping/server/http/).

Run through `make proto`. tests/release/test_proto_stubs.py runs it into a temporary directory and compares,
so stubs that are out of date with their .proto files fail the suite.
"""

from __future__ import annotations

import shutil
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE_DIR = Path("kokokara/shipping/v1")


def _include_dirs() -> list[str]:
    # grpc_tools ships google/protobuf/*.proto; googleapis-common-protos ships google/type and
    # google/rpc .proto files beside their modules in site-packages.
    import google.type.money_pb2 as money

    grpc_tools_protos = resources.files("grpc_tools") / "_proto"
    site_packages = Path(money.__file__).resolve().parents[2]
    return [str(PROTO_ROOT), str(grpc_tools_protos), str(site_packages)]


def _connect_plugin() -> str:
    """protoc-gen-connectrpc, installed beside this Python (the venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "protoc-gen-connectrpc"
    found = str(beside) if beside.exists() else shutil.which("protoc-gen-connectrpc")
    if not found:
        raise SystemExit("protoc-gen-connectrpc is not installed (it is in the dev extra: make venv)")
    return found


def generate(out_dir: Path) -> None:
    """Writes `kokokara/shipping/v1/*_pb2*.py` under out_dir/.. layout-free: files land in out_dir."""
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    tmp_root = out_dir.parent / (out_dir.name + ".gen-tmp")
    tmp_root.mkdir(parents=True, exist_ok=True)
    args = ["grpc_tools.protoc", *(f"-I{d}" for d in _include_dirs())]
    args += [f"--python_out={tmp_root}", f"--pyi_out={tmp_root}", f"--grpc_python_out={tmp_root}"]
    args += [f"--plugin=protoc-gen-connectrpc={_connect_plugin()}", f"--connectrpc_out=protobuf=google,io=async:{tmp_root}", *protos]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in [*out_dir.glob("*_pb2*.py*"), *out_dir.glob("*_connect.py")]:
        old.unlink()
    for produced in sorted((tmp_root / PACKAGE_DIR).iterdir()):
        (out_dir / produced.name).write_bytes(produced.read_bytes())
    (out_dir / "__init__.py").write_text('"""Generated gRPC and Connect stubs for kokokara.shipping.v1: never edit, run `make proto`."""\n')
    _rmtree(tmp_root)


def _rmtree(path: Path) -> None:
    for child in sorted(path.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / PACKAGE_DIR)
