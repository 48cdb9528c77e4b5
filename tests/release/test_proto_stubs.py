"""The committed stubs must match what `make proto` generates from proto/."""

from __future__ import annotations

import filecmp
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_generated_stubs_are_up_to_date(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_proto", REPO / "scripts" / "gen_proto.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    out = tmp_path / "v1"
    gen.generate(out)
    committed = REPO / "kokokara" / "shipping" / "v1"
    fresh = sorted(p.name for p in out.iterdir())
    have = sorted(p.name for p in committed.iterdir() if p.is_file() and p.suffix in (".py", ".pyi"))
    assert fresh == have, "stub files differ from proto/: run `make proto`"
    _, mismatch, errors = filecmp.cmpfiles(out, committed, fresh, shallow=False)
    assert not mismatch and not errors, f"stale stubs {mismatch}: run `make proto`"
