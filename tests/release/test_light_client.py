"""The light client a checkout team installs alone (`pip install kokokara-shipping`): the stubs,
ShippingClient and kokokara.shipping.connect. It is run against a real server in a process where
none of the server's packages and libraries can be imported, as on a machine without them; the
dependencies pyproject.toml gives the light install are only what that needs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from kokokara.shipping.server import bootstrap

REPO = Path(__file__).resolve().parents[2]
# What a light install does not have: the server's libraries, the analysts', and our server-side code.
ABSENT = (
    "pandas", "numpy", "pyarrow", "matplotlib", "reportlab", "psycopg", "redis", "requests", "highspy",
    "prometheus_client", "grpc_health", "grpc_reflection", "rates", "tracking", "labels", "domain",
    "kokokara.shipping.server", "kokokara.shipping.cli",
)  # fmt: skip
PROGRAM = """
import importlib.abc, sys
absent = {absent!r}
class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if any(name == a or name.startswith(a + ".") for a in absent):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, NotInstalled())

from kokokara.shipping.client import ShippingClient

with ShippingClient(sys.argv[1]) as shipping:
    answer = shipping.quote("DE", 1500, sizes_mm=[(300, 200, 100)])
    offered = sorted(o.method for o in answer.options)
    assert offered, answer
    print("quote", len(answer.options), answer.options[0].total_price.currency_code)
    plan = shipping.plan("DE", [{{"sku": "TEA", "weight_grams": 1000, "length_mm": 120, "width_mm": 90, "height_mm": 60, "quantity": 2}}])
    print("plan", len(plan.plans))
    try:
        shipping.list_tables()
    except ImportError as error:
        print("frames:", error)
"""


def test_quotes_and_plans_need_none_of_the_servers_libraries(service: bootstrap.RunningService) -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM.format(absent=ABSENT), service.address], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("quote ") and lines[0].endswith(" JPY") and int(lines[0].split()[1]) >= 1
    assert lines[1].startswith("plan ") and int(lines[1].split()[1]) >= 1
    # The analysts' DataFrames say which extra brings pandas, rather than failing on import.
    assert lines[2] == "frames: DataFrames need pandas: pip install 'kokokara-shipping[analysis]'"


def test_the_light_install_asks_only_for_grpc_and_protobuf() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    light = {Requirement(line).name for line in project["dependencies"]}
    assert light == {"grpcio", "grpcio-status", "protobuf", "googleapis-common-protos"}
    server = {Requirement(line).name for line in project["optional-dependencies"]["server"]}
    assert {"pandas", "reportlab", "psycopg", "redis"} <= server
