"""The gRPC contract checked by buf (scripts/check_contract.py, run by `make lint`): the contract as it
stands passes buf lint and buf breaking, and each check does catch what it is for."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI, REPO

sys.path.insert(0, str(REPO / "scripts"))
import check_contract

V1 = Path("kokokara/shipping/v1")


@pytest.fixture(autouse=True)
def _buf() -> None:
    if not check_contract.BUF.exists():
        message = "buf is not installed (npm ci installs it from package.json)"
        if IN_CI:
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)


def _copy_contract(tmp_path: Path) -> Path:
    root = tmp_path / "proto"
    shutil.copytree(check_contract.PROTO_ROOT / V1, root / V1)
    return root


def test_the_contract_passes_buf_lint_and_buf_breaking(tmp_path: Path) -> None:
    image = tmp_path / "contract.binpb"
    check_contract.build_image(image, source_info=True)
    assert check_contract.lint(image) == 0
    assert check_contract.breaking(image) == 0


def test_buf_breaking_refuses_a_renumbered_field(tmp_path: Path) -> None:
    root = _copy_contract(tmp_path)
    rates = root / V1 / "rates.proto"
    text = rates.read_text(encoding="utf-8")
    assert "int32 weight_grams = " in text or "int64 weight_grams = " in text
    changed = text.replace("weight_grams = ", "weight_grams = 9", 1)
    rates.write_text(changed, encoding="utf-8")
    image = tmp_path / "changed.binpb"
    check_contract.build_image(image, source_info=True, proto_root=root)
    assert check_contract.breaking(image) != 0


def test_buf_lint_refuses_an_enum_without_its_prefix(tmp_path: Path) -> None:
    root = _copy_contract(tmp_path)
    common = root / V1 / "common.proto"
    common.write_text(common.read_text(encoding="utf-8") + "\nenum Colour {\n  RED = 0;\n}\n", encoding="utf-8")
    image = tmp_path / "changed.binpb"
    check_contract.build_image(image, source_info=True, proto_root=root)
    assert check_contract.lint(image) != 0
